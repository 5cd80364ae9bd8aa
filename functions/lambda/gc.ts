/**
 * The garbage collector's Lambda entry: wiring only (the pass: gc-pass.ts). EventBridge
 * Scheduler invokes it (daily by default), with `retention: true` unless the stack turned the
 * scheduled retention run off; an incomplete pass invokes it again
 * asynchronously to resume. Metrics go to CloudWatch as EMF lines on stdout.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createAwsStores, DynamoGcStore } from '../adapters/aws/index';
import { LAMBDA_ENV } from '../adapters/aws/env';
import { DEFAULT_GC_MIN_AGE_MS } from '../core/gc/ports';
import { powertoolsLogger } from './logger';
import { gcEventOf, runGcInvocation } from './gc-pass';
import { readVerifierSettings } from './verifier-settings';
import { awsWebhookEvents, NO_WEBHOOK_SECRETS, readEventSettings } from '../adapters/aws/webhook-events';

const settings = readVerifierSettings(process.env);
const minAgeMs = Number(process.env[LAMBDA_ENV.gcMinAgeMs] ?? DEFAULT_GC_MIN_AGE_MS);
const maxChain = Number(process.env[LAMBDA_ENV.gcMaxChain] ?? 8);
const powertools = new Logger({ serviceName: 'nimbus-gc' });
const logger = powertoolsLogger(powertools);
const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator });
const gc = new DynamoGcStore(stores.clients.dynamodb, stores.clients.s3, { table: settings.table, bucket: settings.bucket });
const lambda = new LambdaClient({});
const clock = { now: () => Date.now() };
// What a pass deletes goes into the outbox with the deletion (io.nimbus.*.deleted, reason gc); the events function delivers it.
const events = awsWebhookEvents(stores.clients.dynamodb, settings.table, NO_WEBHOOK_SECRETS, readEventSettings(process.env), logger);

export async function handler(event: unknown, context: Context): Promise<void> {
  powertools.addContext(context);
  const report = await runGcInvocation({
    gc, metadata: stores.metadata, clock, logger, minAgeMs, maxChain, events,
    // The schedule's retention run: the same run as POST /v2/_nimbus/retention/run on the registry function.
    retention: { metadata: stores.metadata, inventory: stores.metadata, policies: stores.policies, clock, events },
    emit: (line) => process.stdout.write(`${line}\n`),
    resume: async (next) => {
      await lambda.send(new InvokeCommand({ FunctionName: context.functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(next)) }));
    },
  }, gcEventOf(event), context.getRemainingTimeInMillis());
  powertools.info('gc invocation done', { ...report, deleted: report.deleted.length });
}
