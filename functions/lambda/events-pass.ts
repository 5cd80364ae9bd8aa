import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoOutbox } from '../adapters/aws/dynamo-outbox';
import { DynamoWebhookStore } from '../adapters/aws/dynamo-webhook-store';
import { eventBridgeSink, EVENTBRIDGE_SINK } from '../adapters/aws/eventbridge-sink';
import { nodeWebhookTransport } from '../adapters/node/webhook-transport';
import { drainOutbox, type DrainResult, type EventSink } from '../core/events/drain';
import type { WebhookTransport } from '../core/events/ports';
import { EventRecorder } from '../core/events/recorder';
import type { Clock, Logger, MetadataStore } from '../core/index';
import type { EventSettings } from '../adapters/aws/webhook-events';
import type { SecretVault } from '../adapters/aws/secret-vault';

/**
 * How long the events function reuses a webhook secret it read. A webhook's secret never
 * changes for its id (a new secret is a new webhook) and a removed webhook is dropped from the
 * list each pass reads, so a cached value is never wrong; reading it once per delivery would
 * cost a GetSecretValue each (and latency) on every pass. Brief, so a removed webhook's secret
 * does not linger in a warm container's memory.
 */
export const EVENTS_SECRET_CACHE_MS = 5 * 60_000;

/** The events function's webhooks: secrets from the vault, each reused for EVENTS_SECRET_CACHE_MS. */
export function eventsWebhookStore(doc: DynamoDBDocumentClient, table: string, vault: SecretVault): DynamoWebhookStore {
  return new DynamoWebhookStore(doc, table, vault, { secretCacheMs: EVENTS_SECRET_CACHE_MS });
}

export interface EventsPassDeps {
  doc: DynamoDBDocumentClient;
  table: string;
  metadata: MetadataStore;
  /** The webhooks, built once per container (eventsWebhookStore) so their secrets' cache outlives a pass. */
  webhooks: DynamoWebhookStore;
  eventBridge: EventBridgeClient;
  settings: EventSettings;
  clock: Clock;
  logger: Logger;
  /** @default node:http(s) with the address guard of settings.addresses */
  transport?: WebhookTransport;
  /** Where the events meant for the bus go (dev:aws, which has no EventBridge, logs them). @default PutEvents on eventBridge */
  bus?: EventSink;
}

/**
 * One invocation of the events function (a stream batch or the schedule, alike): journals
 * a crashed registry invocation left are settled (committed if their change happened), then
 * every due delivery is tried once (drainOutbox). Delivery failures are saved as retry or
 * dead-letter state, never thrown; only a storage error fails the invocation (and is retried).
 */
export async function runEventsPass(deps: EventsPassDeps, remainingMs: number): Promise<DrainResult & { recovered: number }> {
  const outbox = new DynamoOutbox(deps.doc, deps.table, { now: () => deps.clock.now() });
  const webhooks = deps.webhooks;
  const recorder = new EventRecorder({ outbox, webhooks, clock: deps.clock, logger: deps.logger, sinks: [EVENTBRIDGE_SINK], webhookCacheMs: 0 });
  const { committed } = await recorder.recover(deps.metadata);
  const result = await drainOutbox({
    outbox, webhooks, transport: deps.transport ?? nodeWebhookTransport(deps.settings.addresses),
    sinks: [deps.bus ?? eventBridgeSink(deps.eventBridge, deps.settings.bus)], clock: deps.clock, logger: deps.logger,
  }, {
    timeoutMs: deps.settings.timeoutMs, backoff: deps.settings.backoff,
    // Room for one more attempt (timeout) and saving its outcome.
    deadline: deps.clock.now() + remainingMs - deps.settings.timeoutMs - 5000,
  });
  return { ...result, recovered: committed };
}
