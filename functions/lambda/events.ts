/**
 * The events function's Lambda entry: wiring only (the pass: events-pass.ts). Invoked by the
 * table's stream when an outbox entry is written, and every minute by a schedule (retries
 * that came due, journals a crash left). Reserved concurrency 1: one pass at a time, so a
 * repository's events go out in order.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createAwsStores } from '../adapters/aws/index';
import { readEventSettings } from '../adapters/aws/webhook-events';
import { runEventsPass } from './events-pass';
import { powertoolsLogger } from './logger';
import { readVerifierSettings } from './verifier-settings';

const settings = readVerifierSettings(process.env);
const events = readEventSettings(process.env);
const powertools = new Logger({ serviceName: 'nimbus-events' });
const logger = powertoolsLogger(powertools);
const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator });
const eventBridge = new EventBridgeClient({});

export async function handler(_event: unknown, context: Context): Promise<void> {
  powertools.addContext(context);
  const result = await runEventsPass({
    doc: stores.clients.dynamodb, table: settings.table, metadata: stores.metadata, eventBridge, settings: events,
    clock: { now: () => Date.now() }, logger,
  }, context.getRemainingTimeInMillis());
  powertools.info('events pass done', { ...result });
}
