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
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readEventSettings, webhookSecretVault } from '../adapters/aws/webhook-events';
import { eventsWebhookStore, runEventsPass } from './events-pass';
import { powertoolsLogger } from './logger';
import { readVerifierSettings } from './verifier-settings';

const settings = readVerifierSettings(process.env);
const events = readEventSettings(process.env);
const powertools = new Logger({ serviceName: 'nimbus-events' });
const logger = powertoolsLogger(powertools);
const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator });
const eventBridge = new EventBridgeClient({});
const emulatorCredentials = settings.emulator ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {};
// Module scope: the secrets' cache lives as long as the container (see EVENTS_SECRET_CACHE_MS).
const webhooks = eventsWebhookStore(stores.clients.dynamodb, settings.table, webhookSecretVault(new SecretsManagerClient(emulatorCredentials), process.env));

export async function handler(_event: unknown, context: Context): Promise<void> {
  powertools.addContext(context);
  const result = await runEventsPass({
    doc: stores.clients.dynamodb, table: settings.table, metadata: stores.metadata, webhooks, eventBridge, settings: events,
    clock: { now: () => Date.now() }, logger,
  }, context.getRemainingTimeInMillis());
  powertools.info('events pass done', { ...result });
}
