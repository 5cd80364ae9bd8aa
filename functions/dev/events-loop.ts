/**
 * The events function, in process: dev:aws runs the same pass (functions/lambda/events-pass.ts)
 * the stack runs on the table's stream and every minute. Here a pass starts after each
 * request that may have recorded events (the stream's stand-in) and every second (the
 * schedule's: retries that came due, journals a crash left), one pass at a time, as the
 * function's reserved concurrency of 1 keeps it.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createAwsStores } from '../adapters/aws/index';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readEventSettings, webhookSecretVault } from '../adapters/aws/webhook-events';
import { EVENTBRIDGE_SINK } from '../adapters/aws/eventbridge-sink';
import type { EventSink } from '../core/events/drain';
import type { Logger } from '../core/index';

/** The schedule's stand-in: how often a pass runs when nothing kicks one. */
export const DEV_EVENTS_INTERVAL_MS = 1000;
/** What a pass may take, as the function's timeout bounds it. */
const PASS_BUDGET_MS = 60_000;

export interface DevEventsLoop {
  /** Runs a pass soon (at once, or right after the one running). */
  kick(): void;
  /** Stops the schedule and waits for the running pass. */
  close(): Promise<void>;
}

/**
 * EventBridge has no emulator here: the bus's copy of each event is logged, not sent, and
 * counted as delivered so it is not retried for ever. Webhooks are delivered for real.
 */
export function loggedBusSink(logger: Logger): EventSink {
  return {
    id: EVENTBRIDGE_SINK,
    async send(events) {
      for (const event of events) {
        logger.log('info', 'EventBridge not emulated in dev:aws: event logged, not put on a bus', { id: event.id, type: event.type, subject: event.subject });
      }
      return events.map(() => ({ ok: true, durationMs: 0 }));
    },
  };
}

/** Call once the process environment holds the function's settings (table, bucket, endpoints, secret prefix). */
export async function startDevEventsLoop(table: string, bucket: string, logger: Logger): Promise<DevEventsLoop> {
  const { eventsWebhookStore, runEventsPass } = await import('../lambda/events-pass');
  const stores = createAwsStores({ bucket, table, emulator: true });
  // The Secrets Manager stub and prefix the registry function uses (AWS_ENDPOINT_URL_SECRETS_MANAGER, NIMBUS_SECRET_PREFIX).
  const vault = webhookSecretVault(new SecretsManagerClient({ credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } }), process.env);
  const deps = {
    doc: stores.clients.dynamodb, table, metadata: stores.metadata, webhooks: eventsWebhookStore(stores.clients.dynamodb, table, vault), eventBridge: new EventBridgeClient({}),
    bus: loggedBusSink(logger), settings: readEventSettings(process.env), clock: { now: () => Date.now() }, logger,
  };
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const runPasses = async () => {
    do {
      again = false;
      try {
        const result = await runEventsPass(deps, PASS_BUDGET_MS);
        if (result.delivered + result.failed + result.recovered > 0) logger.log('info', 'events pass done', { ...result });
      } catch (error) {
        // As a failed invocation: the next pass retries (nothing was lost, the outbox is in the table).
        logger.log('warn', 'events pass failed', { error: String(error) });
      }
    } while (again && !closed);
  };
  const kick = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = runPasses().finally(() => (running = undefined));
  };
  const timer = setInterval(kick, DEV_EVENTS_INTERVAL_MS);
  kick();
  return {
    kick,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
