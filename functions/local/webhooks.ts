import { FsOutbox } from '../adapters/fs/outbox';
import { FsWebhookStore } from '../adapters/fs/webhook-store';
import { nodeWebhookTransport, resolveHost } from '../adapters/node/webhook-transport';
import { DeliveryWorker } from '../core/events/delivery';
import { EventRecorder } from '../core/events/recorder';
import { PullAggregator } from '../core/events/pulls';
import type { WebhookEvents } from '../core/events/services';
import type { Logger, MetadataStore } from '../core/index';
import type { LocalSettings } from './settings';

export interface LocalWebhooks {
  readonly events: WebhookEvents;
  readonly worker: DeliveryWorker;
  /** Starts delivering (and, with NIMBUS_WEBHOOK_PULLS, ending pull windows); returns the function that stops both. */
  start(): Promise<() => Promise<void>>;
}

/**
 * Webhooks of npm start: the outbox and webhooks in the data dir, a delivery worker in this
 * process. Journals a crash left are settled here, before any request is served.
 */
export async function createLocalWebhooks(settings: LocalSettings, metadata: MetadataStore, logger: Logger): Promise<LocalWebhooks> {
  const clock = { now: () => Date.now() };
  const outbox = new FsOutbox(settings.dataDir, { fsync: settings.fsync });
  const webhooks = new FsWebhookStore(settings.dataDir, { fsync: settings.fsync });
  const recorder = new EventRecorder({ outbox, webhooks, clock, logger });
  await recorder.recover(metadata);
  const transport = nodeWebhookTransport(settings.webhookAddresses);
  const worker = new DeliveryWorker({ outbox, webhooks, transport, clock, logger }, {
    timeoutMs: settings.webhookTimeoutSeconds * 1000,
    backoff: { baseMs: 1000, maxMs: settings.webhookBackoffMaxSeconds * 1000, maxAttempts: settings.webhookMaxAttempts },
  });
  recorder.onCommit((entries) => worker.add(entries));
  const pulls = settings.webhookPullSeconds > 0 ? new PullAggregator(recorder, clock) : undefined;
  const flushPulls = () => pulls?.flush().catch((error: unknown) => logger.log('warn', 'pulled events could not be queued', { error: String(error) }));
  return {
    events: {
      recorder, transport, addressPolicy: settings.webhookAddresses, resolve: resolveHost, timeoutMs: settings.webhookTimeoutSeconds * 1000,
      ...(pulls ? { pulls } : {}),
    },
    worker,
    async start() {
      await worker.start();
      const timer = pulls ? setInterval(() => void flushPulls(), settings.webhookPullSeconds * 1000) : undefined;
      timer?.unref();
      return async () => {
        clearInterval(timer);
        await flushPulls();
        worker.stop();
      };
    },
  };
}
