import type { Clock, Logger } from '../ports';
import { DEFAULT_BACKOFF, retryDelay, type BackoffPolicy } from './backoff';
import type { CloudEvent } from './cloud-events';
import { KeyedQueue } from './recorder';
import type { DeliveryStatus, EventOutbox, OutboxEntry, WebhookStore, WebhookTransport } from './ports';
import { sendEvent, type Attempt } from './send';

/** A destination that is not a webhook (EventBridge): sends a batch of events, never throws. */
export interface EventSink {
  readonly id: string;
  send(events: readonly CloudEvent[]): Promise<Attempt[]>;
}

export interface DrainDeps {
  outbox: EventOutbox;
  webhooks: WebhookStore;
  transport: WebhookTransport;
  sinks: readonly EventSink[];
  clock: Clock;
  logger: Logger;
}

export interface DrainOptions {
  readonly timeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Stop starting deliveries after this epoch ms (the invocation's deadline). */
  readonly deadline?: number;
}

export interface DrainResult {
  delivered: number;
  failed: number;
}

/**
 * One bounded pass over the outbox, for a function invoked by a stream or a schedule (no
 * timers): every due delivery is tried once, a lane (webhook × repository) in seq order,
 * stopping at its first failure or not-yet-due delivery, so a repository's events never
 * overtake each other. Sinks get each lane's due events in one batch. The outcome of every
 * attempt is saved before the next one of its lane; retries wait for a later pass.
 */
export async function drainOutbox(deps: DrainDeps, options: DrainOptions = {}): Promise<DrainResult> {
  const entries = await deps.outbox.pending();
  const lanes = new Map<string, OutboxEntry[]>();
  for (const entry of entries) {
    for (const delivery of entry.deliveries) {
      if (delivery.state !== 'pending') continue;
      const key = `${delivery.webhook} ${entry.event.data.repository}`;
      lanes.set(key, [...(lanes.get(key) ?? []), entry]);
    }
  }
  const saves = new KeyedQueue();
  const result: DrainResult = { delivered: 0, failed: 0 };
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const save = (entry: OutboxEntry, target: string, attempt: Attempt) => saves.run(String(entry.seq), async () => {
    const delivery = entry.deliveries.find((each) => each.webhook === target)!;
    const updated = settled(delivery, attempt, backoff, deps.clock.now());
    entry.deliveries = entry.deliveries.map((each) => (each === delivery ? updated : each));
    await deps.outbox.update(entry);
    if (attempt.ok) result.delivered++;
    else result.failed++;
    if (updated.state === 'dead') deps.logger.log('error', 'event delivery dead-lettered', { target, event: entry.event.id, error: attempt.error });
  });
  await Promise.all([...lanes].map(async ([key, lane]) => {
    const target = key.slice(0, key.indexOf(' '));
    const sink = deps.sinks.find((each) => each.id === target);
    const due = dueHead(lane.sort((a, b) => a.seq - b.seq), target, deps.clock.now());
    if (sink) return sendToSink(sink, due, save);
    for (const entry of due) {
      if (options.deadline !== undefined && deps.clock.now() >= options.deadline) return;
      const attempt = await attemptWebhook(deps, target, entry, options.timeoutMs ?? 10_000);
      await save(entry, target, attempt);
      if (!attempt.ok) return;
    }
  }));
  return result;
}

/** The lane's entries up to the first one not due yet. */
function dueHead(lane: OutboxEntry[], target: string, now: number): OutboxEntry[] {
  const end = lane.findIndex((entry) => entry.deliveries.find((each) => each.webhook === target)!.nextAttemptAt > now);
  return end < 0 ? lane : lane.slice(0, end);
}

async function sendToSink(sink: EventSink, due: OutboxEntry[], save: (entry: OutboxEntry, target: string, attempt: Attempt) => Promise<void>): Promise<void> {
  if (due.length === 0) return;
  const attempts = await sink.send(due.map((entry) => entry.event));
  // After a failed event, later ones of the lane wait too (retried in order with it).
  const firstFailure = attempts.findIndex((attempt) => !attempt.ok);
  for (const [index, entry] of due.entries()) {
    if (firstFailure >= 0 && index > firstFailure) break;
    await save(entry, sink.id, attempts[index] ?? { ok: false, error: 'no answer for this event', durationMs: 0 });
  }
}

async function attemptWebhook(deps: DrainDeps, id: string, entry: OutboxEntry, timeoutMs: number): Promise<Attempt> {
  const webhook = (await deps.webhooks.list()).find((each) => each.id === id);
  const secrets = webhook && await deps.webhooks.secrets(id);
  if (!webhook || !secrets) return { ok: false, error: 'the webhook was removed', durationMs: 0, final: true };
  return sendEvent(deps.transport, webhook.url, secrets, entry.event, `${entry.seq}-${id}`, deps.clock.now(), timeoutMs);
}

function settled(delivery: DeliveryStatus, attempt: Attempt, backoff: BackoffPolicy, now: number): DeliveryStatus {
  const { lastStatus: _status, lastError: _error, ...rest } = delivery;
  const attempts = delivery.attempts + 1;
  const delay = attempt.final ? undefined : retryDelay(backoff, attempts);
  const state = attempt.ok ? 'delivered' : delay === undefined ? 'dead' : 'pending';
  return {
    ...rest, state, attempts, lastAttemptAt: now, nextAttemptAt: state === 'pending' ? now + delay! : 0,
    ...(attempt.status === undefined ? {} : { lastStatus: attempt.status }),
    ...(attempt.error === undefined ? {} : { lastError: attempt.error }),
  };
}
