import type { Clock, Logger, MetadataStore } from '../ports';
import { EVENT_TYPES, REGISTRY_WIDE, subscribed, watches, type CloudEvent } from './cloud-events';
import type { EventOutbox, OutboxDraft, OutboxEntry, Webhook, WebhookStore } from './ports';
import { underOrderLease, type OrderLeaseOptions } from './order-lease';

/** Serialises async sections per key (one process holds a data dir, so this orders its changes). */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(section, section);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

export interface EventRecorderDeps {
  outbox: EventOutbox;
  webhooks: WebhookStore;
  clock: Clock;
  logger: Logger;
  /**
   * Destinations that get every event, subscribed or not (AWS: the EventBridge bus). Each is
   * a delivery of the entry like a webhook's, so it is retried and dead-lettered the same way.
   */
  sinks?: readonly string[];
  /**
   * How long the webhook list is trusted. Unset: until invalidate() (one process holds the
   * store); on AWS other functions (and `nimbus --table`) add webhooks, so it expires.
   */
  webhookCacheMs?: number;
  /**
   * Orders changes of one repository across processes (AWS: Lambda containers) by a lease;
   * unset where one process holds the store (the queue below orders its changes).
   */
  orderLeases?: OrderLeaseOptions;
}

/**
 * Records a change's events durably with the change: journal first, then the change, then
 * commit (or discard when it did not happen). Changes of one repository that carry events
 * are serialised here (across processes too, with `orderLeases`), so seq order is the order of
 * the changes per repository. A change no webhook subscribes to writes nothing extra.
 */
export class EventRecorder {
  private readonly queue = new KeyedQueue();
  private cached: Promise<Webhook[]> | undefined;
  private cachedAt = 0;
  private readonly listeners: Array<(entries: OutboxEntry[]) => void> = [];

  constructor(private readonly deps: EventRecorderDeps) {}

  get outbox(): EventOutbox {
    return this.deps.outbox;
  }

  get webhooks(): WebhookStore {
    return this.deps.webhooks;
  }

  /** Called with entries as they become deliverable (the delivery worker). */
  onCommit(listener: (entries: OutboxEntry[]) => void): void {
    this.listeners.push(listener);
  }

  /** Webhooks changed: read them again before the next change. */
  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * Runs `change` with `events` recorded: `change` returns false (or throws) when nothing
   * changed, and then no event is kept.
   */
  async record<T>(repository: string, events: readonly CloudEvent[], change: () => Promise<T>): Promise<T> {
    // Nobody listens: no journal, no ordering to keep (the store serialises the change itself).
    if ((await this.drafts(events)).length === 0) return change();
    return this.queue.run(repository, async () => {
      const drafts = await this.drafts(events);
      if (drafts.length === 0) return change();
      const { orderLeases, clock, logger } = this.deps;
      const recorded = () => this.recordWith(events, drafts, change);
      return orderLeases ? underOrderLease(orderLeases, clock, logger, repository, recorded) : recorded();
    });
  }

  /** Journal, change, then entries (or the journal dropped when nothing changed). */
  private async recordWith<T>(events: readonly CloudEvent[], drafts: OutboxDraft[], change: () => Promise<T>): Promise<T> {
    const journal = await this.deps.outbox.prepare(events);
    let result: T;
    try {
      result = await change();
    } catch (error) {
      await this.deps.outbox.discard(journal);
      throw error;
    }
    if (result === false) await this.deps.outbox.discard(journal);
    else this.publish(await this.deps.outbox.commit(journal, drafts));
    return result;
  }

  /** Queues events with no change to journal (aggregated pulls) for the webhooks that want them. */
  async publishEvents(events: readonly CloudEvent[]): Promise<OutboxEntry[]> {
    const drafts = await this.drafts(events);
    return drafts.length === 0 ? [] : this.append(drafts);
  }

  /** Appends entries with no change behind them (pings) and hands them to the worker. */
  async append(drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]> {
    const entries = await this.deps.outbox.append(drafts);
    this.publish(entries);
    return entries;
  }

  /**
   * At startup, before any request: a journal left by a crash is committed when its change
   * happened (the store shows it), else dropped.
   */
  async recover(metadata: MetadataStore): Promise<{ committed: number; discarded: number }> {
    let committed = 0;
    let discarded = 0;
    for (const journal of await this.deps.outbox.journals()) {
      const first = journal.events[0];
      if (first && await happened(metadata, first)) {
        await this.deps.outbox.commit(journal.id, await this.drafts(journal.events));
        committed++;
      } else {
        await this.deps.outbox.discard(journal.id);
        discarded++;
      }
    }
    if (committed + discarded > 0) this.deps.logger.log('info', 'webhook events recovered after a crash', { committed, discarded });
    return { committed, discarded };
  }

  private async drafts(events: readonly CloudEvent[]): Promise<OutboxDraft[]> {
    const ttl = this.deps.webhookCacheMs;
    if (ttl !== undefined && this.deps.clock.now() - this.cachedAt > ttl) this.cached = undefined;
    if (!this.cached) this.cachedAt = this.deps.clock.now();
    this.cached ??= this.deps.webhooks.list().catch((error: unknown) => {
      this.cached = undefined;
      throw error;
    });
    const webhooks = await this.cached;
    const now = this.deps.clock.now();
    const sinks = this.deps.sinks ?? [];
    return events.flatMap((event) => {
      const targets = webhooks.filter((hook) => subscribed(hook.events, event.type) && watches(hook.repositories, event.data.repository))
        .map((hook) => hook.id).concat(sinks);
      if (targets.length === 0) return [];
      return [{ event, deliveries: targets.map((target) => ({ webhook: target, state: 'pending' as const, attempts: 0, nextAttemptAt: now })) }];
    });
  }

  private publish(entries: OutboxEntry[]): void {
    if (entries.length === 0) return;
    for (const listener of this.listeners) listener(entries);
  }
}

/** Whether the change an event describes is what the store shows now. */
async function happened(metadata: MetadataStore, event: CloudEvent): Promise<boolean> {
  const { repository, digest, tag } = event.data;
  switch (event.type) {
    case EVENT_TYPES.manifestPushed:
      if (!(await metadata.getManifest(repository, digest))) return false;
      return tag === undefined || (await metadata.resolveTag(repository, tag)) === digest;
    case EVENT_TYPES.manifestDeleted:
      return (await metadata.getManifest(repository, digest)) === undefined;
    case EVENT_TYPES.tagDeleted:
      return tag !== undefined && (await metadata.resolveTag(repository, tag)) !== digest;
    case EVENT_TYPES.blobDeleted:
      // Garbage collection deletes the blob itself; a DELETE unlinks it from the repository.
      if (repository === REGISTRY_WIDE) return (await metadata.getBlob(digest)) === undefined;
      return !(await metadata.isBlobLinked(repository, digest));
    default:
      return false;
  }
}
