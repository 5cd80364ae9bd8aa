import type { Clock, Logger } from '../ports';
import { DEFAULT_BACKOFF, retryDelay, type BackoffPolicy } from './backoff';
import { KeyedQueue } from './recorder';
import type { DeliveryStatus, EventOutbox, OutboxEntry, WebhookStore, WebhookTransport } from './ports';
import { sendEvent, type Attempt } from './send';

export interface DeliveryOptions {
  /** A receiver gets this long to answer each delivery. @default 10 s */
  readonly timeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Deliveries in flight to one webhook at once (one per repository at most). @default 4 */
  readonly concurrency?: number;
  /** Undelivered events kept per webhook; beyond it, new ones are dead-lettered ("queue full"). @default 10,000 */
  readonly maxPending?: number;
}

export interface DeliveryDeps {
  outbox: EventOutbox;
  webhooks: WebhookStore;
  transport: WebhookTransport;
  clock: Clock;
  logger: Logger;
}

type Lanes = Map<string, OutboxEntry[]>;

/**
 * Delivers the outbox: a queue per webhook, split into lanes per repository, each lane in
 * seq order with one delivery in flight, so events of a repository arrive in order and a
 * failing one holds back only its own repository. Every attempt's outcome is saved before
 * the next one, so delivery is at least once across crashes. Nothing here runs on a
 * request's path: a slow receiver costs at most its timeout per attempt, on this worker.
 */
export class DeliveryWorker {
  private readonly queues = new Map<string, Lanes>();
  private readonly busy = new Map<string, Set<string>>();
  private readonly saves = new KeyedQueue();
  /** `<webhook> <seq>` of every queued delivery: an entry committed while start() loads the outbox is queued once. */
  private readonly queued = new Set<string>();
  private readonly options: Required<DeliveryOptions>;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeAt = Infinity;
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps, options: DeliveryOptions = {}) {
    this.options = {
      timeoutMs: options.timeoutMs ?? 10_000, backoff: options.backoff ?? DEFAULT_BACKOFF,
      concurrency: options.concurrency ?? 4, maxPending: options.maxPending ?? 10_000,
    };
  }

  /** Loads what the outbox still owes and starts delivering it, at once: a restart often follows a fix. */
  async start(): Promise<void> {
    const owed = await this.deps.outbox.pending();
    const now = this.deps.clock.now();
    for (const delivery of owed.flatMap((entry) => entry.deliveries)) delivery.nextAttemptAt = Math.min(delivery.nextAttemptAt, now);
    this.add(owed);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Entries just committed (EventRecorder.onCommit) or loaded at start. */
  add(entries: readonly OutboxEntry[]): void {
    for (const entry of entries) {
      for (const delivery of entry.deliveries) {
        if (delivery.state !== 'pending' || this.queued.has(`${delivery.webhook} ${entry.seq}`)) continue;
        const lanes = this.lanesOf(delivery.webhook);
        if (this.pendingCount(lanes) >= this.options.maxPending) {
          void this.finish(entry, delivery, 'dead', { error: 'queue full: too many undelivered events for this webhook' }, false)
            .catch((error: unknown) => this.deps.logger.log('warn', 'webhook delivery could not be recorded', { webhook: delivery.webhook, error: String(error) }));
          continue;
        }
        const repository = entry.event.data.repository;
        const lane = lanes.get(repository) ?? [];
        this.queued.add(`${delivery.webhook} ${entry.seq}`);
        lane.push(entry);
        lane.sort((a, b) => a.seq - b.seq);
        lanes.set(repository, lane);
      }
    }
    this.pump();
  }

  private lanesOf(webhook: string): Lanes {
    let lanes = this.queues.get(webhook);
    if (!lanes) this.queues.set(webhook, (lanes = new Map()));
    return lanes;
  }

  private pendingCount(lanes: Lanes): number {
    let count = 0;
    for (const lane of lanes.values()) count += lane.length;
    return count;
  }

  /** Starts every due lane head (within each webhook's concurrency) and sleeps until the next one is due. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    let next = Infinity;
    for (const [webhook, lanes] of this.queues) {
      const busy = this.busy.get(webhook) ?? new Set<string>();
      this.busy.set(webhook, busy);
      for (const [repository, lane] of lanes) {
        const head = lane[0];
        if (!head || busy.has(repository)) continue;
        const due = statusOf(head, webhook).nextAttemptAt;
        if (due > now) next = Math.min(next, due);
        else if (busy.size < this.options.concurrency) {
          busy.add(repository);
          void this.deliver(webhook, repository, head);
        }
      }
    }
    this.sleepUntil(next);
  }

  private sleepUntil(at: number): void {
    if (at === Infinity || at >= this.wakeAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAt = at;
    this.timer = setTimeout(() => {
      this.wakeAt = Infinity;
      this.timer = undefined;
      this.pump();
    }, Math.max(0, at - this.deps.clock.now()));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async deliver(webhookId: string, repository: string, entry: OutboxEntry): Promise<void> {
    const delivery = statusOf(entry, webhookId);
    try {
      const webhook = (await this.deps.webhooks.list()).find((each) => each.id === webhookId);
      const secrets = webhook && await this.deps.webhooks.secrets(webhookId);
      if (!webhook || !secrets) {
        await this.finish(entry, delivery, 'dead', { error: 'the webhook was removed' }, false);
      } else {
        const attempt = await sendEvent(this.deps.transport, webhook.url, secrets, entry.event, `${entry.seq}-${webhookId}`,
          this.deps.clock.now(), this.options.timeoutMs);
        await this.settle(entry, delivery, attempt);
      }
    } catch (error) {
      // Saving the outcome failed (disk): try again later; the entry stays pending on disk.
      this.deps.logger.log('warn', 'webhook delivery could not be recorded', { webhook: webhookId, error: String(error) });
      delivery.nextAttemptAt = this.deps.clock.now() + this.options.backoff.baseMs;
    } finally {
      const lane = this.queues.get(webhookId)?.get(repository);
      const index = lane?.indexOf(entry) ?? -1;
      if (lane && index >= 0 && delivery.state !== 'pending') {
        lane.splice(index, 1);
        this.queued.delete(`${webhookId} ${entry.seq}`);
      }
      if (lane && lane.length === 0) this.queues.get(webhookId)?.delete(repository);
      this.busy.get(webhookId)?.delete(repository);
      this.pump();
    }
  }

  private async settle(entry: OutboxEntry, delivery: DeliveryStatus, attempt: Attempt): Promise<void> {
    const outcome: Outcome = { ...(attempt.status === undefined ? {} : { status: attempt.status }), ...(attempt.error ? { error: attempt.error } : {}) };
    if (attempt.ok) return this.finish(entry, delivery, 'delivered', outcome);
    const delay = retryDelay(this.options.backoff, delivery.attempts + 1);
    const level = delay === undefined ? 'error' : 'warn';
    this.deps.logger.log(level, delay === undefined ? 'webhook delivery dead-lettered' : 'webhook delivery failed; will retry', {
      webhook: delivery.webhook, event: entry.event.id, attempts: delivery.attempts + 1, error: attempt.error, retryInMs: delay,
    });
    if (delay === undefined) return this.finish(entry, delivery, 'dead', outcome);
    return this.record(entry, delivery, 'pending', outcome, this.deps.clock.now() + delay);
  }

  private finish(entry: OutboxEntry, delivery: DeliveryStatus, state: 'delivered' | 'dead', outcome: Outcome, attempted = true): Promise<void> {
    return this.record(entry, delivery, state, outcome, 0, attempted);
  }

  /**
   * Saves a delivery's new state, then applies it in memory (so a failed save leaves it as it
   * was, pending, for the next try). One save per entry at a time: several webhooks share it.
   */
  private record(entry: OutboxEntry, delivery: DeliveryStatus, state: DeliveryStatus['state'], outcome: Outcome, next: number, attempted = true): Promise<void> {
    return this.saves.run(String(entry.seq), async () => {
      const { lastStatus: _status, lastError: _error, ...rest } = delivery;
      const updated: DeliveryStatus = {
        ...rest, state, nextAttemptAt: next,
        ...(attempted ? { attempts: delivery.attempts + 1, lastAttemptAt: this.deps.clock.now() } : {}),
        ...(outcome.status === undefined ? {} : { lastStatus: outcome.status }),
        ...(outcome.error === undefined ? {} : { lastError: outcome.error }),
      };
      await this.deps.outbox.update({ ...entry, deliveries: entry.deliveries.map((each) => (each === delivery ? updated : each)) });
      for (const key of Object.keys(delivery) as Array<keyof DeliveryStatus>) delete delivery[key];
      Object.assign(delivery, updated);
    });
  }
}

type Outcome = { status?: number; error?: string };

function statusOf(entry: OutboxEntry, webhook: string): DeliveryStatus {
  const status = entry.deliveries.find((each) => each.webhook === webhook);
  if (!status) throw new Error(`entry ${entry.seq} has no delivery to ${webhook}`);
  return status;
}
