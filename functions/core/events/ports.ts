import type { CloudEvent, EventGroup } from './cloud-events';

/** A registered webhook, as listed (its secret and header values are kept apart, as secrets). */
export interface Webhook {
  id: string;
  url: string;
  events: EventGroup[];
  /** Repository pattern (policy/patterns.ts): team/app, team/*, team/**, **. */
  repositories: string;
  /** Names of the extra headers sent with each delivery (values are secret). */
  headerNames: string[];
  createdAt: number;
}

/** What a delivery needs besides the webhook: never listed, never logged. */
export interface WebhookSecrets {
  /** HMAC-SHA256 key of the Nimbus-Signature header. */
  secret: string;
  headers: Record<string, string>;
}

export interface WebhookStore {
  list(): Promise<Webhook[]>;
  add(webhook: Webhook, secrets: WebhookSecrets): Promise<void>;
  /** Returns false when there was no such webhook. */
  remove(id: string): Promise<boolean>;
  secrets(id: string): Promise<WebhookSecrets | undefined>;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead';

/** One event's delivery to one webhook. */
export interface DeliveryStatus {
  webhook: string;
  state: DeliveryState;
  attempts: number;
  /** Epoch ms of the next try (pending only). */
  nextAttemptAt: number;
  lastAttemptAt?: number;
  /** The receiver's HTTP status of the last try. */
  lastStatus?: number;
  /** Why the last try failed (timeout, refused address, HTTP status...). */
  lastError?: string;
}

/** A committed event and where it goes; `seq` orders entries (per repository, the order of the changes). */
export interface OutboxEntry {
  seq: number;
  event: CloudEvent;
  deliveries: DeliveryStatus[];
}

export type OutboxDraft = Omit<OutboxEntry, 'seq'>;

/**
 * Durable events (the outbox). A change's events are journalled before the change is visible
 * (prepare), and made deliverable after it (commit); a journal a crash left behind is decided
 * at startup by whether its change happened (recorder.ts). So a crash between the change and
 * the send never loses its event.
 */
export interface EventOutbox {
  /** Writes the journal of a change about to be made; returns its id. */
  prepare(events: readonly CloudEvent[]): Promise<string>;
  /** Appends the entries (assigning seq, in order) and drops the journal, atomically per entry. */
  commit(journal: string, drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]>;
  /** Drops a journal whose change did not happen. */
  discard(journal: string): Promise<void>;
  /** Journals left by a crash, oldest first. */
  journals(): Promise<Array<{ id: string; events: CloudEvent[] }>>;
  /** Appends entries with no change behind them (pings). */
  append(drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]>;
  /** Entries with a delivery still pending, by seq. */
  pending(): Promise<OutboxEntry[]>;
  /** Saves an entry's delivery states. */
  update(entry: OutboxEntry): Promise<void>;
  /** The latest entries, newest first (delivery history and dead letters). */
  recent(limit: number): Promise<OutboxEntry[]>;
}

/** Where a delivery goes out: an HTTP POST that refuses addresses the policy forbids. */
export interface WebhookTransport {
  /** Resolves with the receiver's status; rejects on timeouts, refused addresses and network errors. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number>;
}

/** DNS for the add-time address check: every address a host name resolves to. */
export type HostResolver = (host: string) => Promise<string[]>;
