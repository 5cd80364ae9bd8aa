import { RegistryError, StoreConflictError } from '../errors';
import type { Clock, Logger, MetadataStore, Timers } from '../ports';
import type { PartRecord, UploadSession } from '../records';
import { uploadRangeHeader } from '../http/range';

/**
 * Leases on upload sessions: which request may write an upload's parts and session.
 *
 * Timing, with L = uploadLeaseSeconds (15 s on the AWS paths):
 * - Every session write of a holder (acquire, checkpoint, heartbeat) sets
 *   `lease.until = t + L`, t being the holder's clock when it sent the write.
 * - A heartbeat timer ticks every L/12 and renews the lease once L/3 has passed since the
 *   last successful write, whatever the request is doing: reading a fast body, waiting on a
 *   silent client, or waiting for a part to reach storage. A renewal that fails is retried
 *   at the next ticks (three tries before the fence).
 * - A holder whose last successful write was sent 7L/12 ago is fenced: it starts no store
 *   write, abandons the body and answers. Ticks and every write check this, so it stops by
 *   2L/3 at the latest, L/3 (5 s) before any other process can see its lease lapse. That
 *   L/3 covers the clock skew between processes (NTP keeps it to milliseconds on AWS) and
 *   the holder's own scheduling delays.
 * - Another request takes the session over once its own clock passes `until`. A holder that
 *   dies wrote its last renewal before it died, so its uploads are free again at most L
 *   after its death: 15 s, within docker's retries (5, 10, 15 and 20 s after a failure).
 *
 * Timing cannot stop a write that was sent in time and lands late (a slow part upload, a
 * process paused mid-request). Three fences make such writes harmless, whatever the clocks:
 * - every session write is a compare-and-swap on `version`, which every write bumps, so a
 *   stale holder's checkpoint, release or commit fails once anyone else has written;
 * - part numbers: between two successful session writes a holder writes at most one part,
 *   numbered `nextPartNumber(session)`. Taking over a lease that was never released raises
 *   `partFloor` past that number, so the stale holder's late part lands on a number nobody
 *   records and never replaces a part a newer holder recorded (S3 replaces a part whose
 *   number is written again). The file store writes at offsets in one process per data
 *   directory, whose restart frees every lease; there the fence and the shared clock suffice;
 * - a commit first records `commit` (a compare-and-swap): from then on the parts and size
 *   are final, and a later holder can only finish that same commit.
 */
export interface LeaseDeps {
  metadata: MetadataStore;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  leaseSeconds: number;
}

/** How long a request may wait for the next byte of a body: no proxy in front keeps a silent connection longer. */
export const BODY_STALL_MS = 120_000;

/** What a holder that may no longer write throws, and what its guarded waits reject with. */
export interface Fence {
  /** Throws when this holder may no longer start a write. */
  check(): void;
  /** Waits for `work` (a store call), or rejects as soon as the lease is lost; the work is then abandoned. */
  guard<T>(work: Promise<T>): Promise<T>;
  /** Waits for the client's next bytes, counted against the body stall limit, or rejects when the lease is lost. */
  waitForBody<T>(next: Promise<T>): Promise<T>;
}

/** Fields of the session a holder changes; everything else is bookkeeping. */
export type SessionChange = Partial<Pick<UploadSession, 'offset' | 'parts' | 'tail' | 'hashState' | 'hashAlgorithm' | 'commit' | 'expiresAt'>>;

/** The part number the next writer of this session must use. */
export function nextPartNumber(parts: readonly PartRecord[], partFloor: number | undefined): number {
  return Math.max((parts.at(-1)?.number ?? 0) + 1, partFloor ?? 1);
}

/** A request's hold on an upload session: its saved state, heartbeat and fences. */
export class HeldUpload implements Fence {
  private current: UploadSession;
  /** Clock when the last successful session write was sent. */
  private renewedAt: number;
  private renewing = false;
  private writing: Promise<unknown> = Promise.resolve();
  private busyWriting = false;
  private failure: Error | undefined;
  /** Guarded waits to reject when the lease is lost (a set, not a race per wait: a body has millions of chunks). */
  private readonly waiters = new Set<(error: Error) => void>();
  /** The wait for the client's next bytes, if one is in progress. */
  private bodyWait: { since: number; reject: (error: Error) => void } | undefined;
  private readonly heartbeat: { cancel(): void };

  private constructor(private readonly deps: LeaseDeps, session: UploadSession, sentAt: number, private readonly expiry: (nowMs: number) => number) {
    this.current = session;
    this.renewedAt = sentAt;
    this.heartbeat = deps.timers.every(this.leaseMs / 12, () => this.tick());
  }

  /** Takes the session for `owner`, or answers 416 "busy" while another request holds it. */
  static async acquire(deps: LeaseDeps, session: UploadSession, owner: string, expiry: (nowMs: number) => number): Promise<HeldUpload> {
    const now = deps.clock.now();
    if (session.lease && session.lease.until > now) throw busy(session);
    const leased: UploadSession = {
      ...session, version: session.version + 1, updatedAt: now, expiresAt: expiry(now),
      lease: { owner, until: now + deps.leaseSeconds * 1000 },
    };
    // A lease that was never released: its holder may still be writing the next part number.
    if (session.lease) leased.partFloor = nextPartNumber(session.parts, session.partFloor) + 1;
    try {
      await deps.metadata.updateUpload(leased, session.version);
    } catch (error) {
      if (error instanceof StoreConflictError) throw busy(session);
      throw error;
    }
    return new HeldUpload(deps, leased, now, expiry);
  }

  /** The session as last saved (with changes adopted since). */
  get session(): UploadSession {
    return this.current;
  }

  /** Changes the session in memory only; the next save persists it. */
  adopt(change: SessionChange): void {
    this.current = { ...this.current, ...change };
  }

  /** Saves progress and renews the lease by compare-and-swap, in turn with heartbeats. */
  save(change: SessionChange = {}): Promise<UploadSession> {
    return this.serialised(() => this.write(change, false));
  }

  /** Saves and gives the session up, so the next request may take it at once. */
  saveAndRelease(change: SessionChange = {}): Promise<UploadSession> {
    return this.serialised(async () => {
      const saved = await this.write(change, true);
      this.stop();
      return saved;
    });
  }

  /** Best effort after a failure: a holder that lost its lease has nothing to give up. */
  async release(): Promise<void> {
    try {
      if (!this.failure) await this.saveAndRelease();
    } catch (error) {
      this.deps.logger.log('warn', 'could not release an upload; its lease lapses on its own', { upload: this.current.id, error: String(error) });
    } finally {
      this.stop();
    }
  }

  stop(): void {
    this.heartbeat.cancel();
  }

  check(): void {
    if (!this.failure && this.deps.clock.now() - this.renewedAt >= this.fenceAfterMs) {
      this.lose(unavailable(this.current, 'could not renew the hold on this upload in time'));
    }
    if (this.failure) throw this.failure;
  }

  guard<T>(work: Promise<T>): Promise<T> {
    return this.wait(work);
  }

  waitForBody<T>(next: Promise<T>): Promise<T> {
    return this.wait(next, true);
  }

  /** Guarded waits are kept in a set rather than raced against a shared promise: a body has millions of chunks. */
  private wait<T>(work: Promise<T>, body = false): Promise<T> {
    if (this.failure) {
      work.catch(() => undefined); // abandoned
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiters.add(reject);
      if (body) this.bodyWait = { since: this.deps.clock.now(), reject };
      work.then(resolve, reject).finally(() => {
        this.waiters.delete(reject);
        if (this.bodyWait?.reject === reject) this.bodyWait = undefined;
      });
    });
  }

  private get leaseMs(): number {
    return this.deps.leaseSeconds * 1000;
  }

  private get fenceAfterMs(): number {
    return (this.leaseMs * 7) / 12;
  }

  private serialised<T>(write: () => Promise<T>): Promise<T> {
    const run = this.writing.then(() => {
      this.busyWriting = true;
      return write().finally(() => (this.busyWriting = false));
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async write(change: SessionChange, release: boolean): Promise<UploadSession> {
    this.check();
    const sentAt = this.deps.clock.now();
    const previous = this.current;
    const next: UploadSession = {
      ...previous, ...change, version: previous.version + 1, updatedAt: sentAt,
      expiresAt: change.expiresAt ?? this.expiry(sentAt),
      lease: { owner: previous.lease?.owner ?? '', until: sentAt + this.leaseMs },
    };
    if ('tail' in change && !change.tail) delete next.tail;
    if (release) delete next.lease;
    try {
      await this.deps.metadata.updateUpload(next, previous.version);
    } catch (error) {
      if (error instanceof StoreConflictError) throw this.lose(await this.takenOver(previous));
      throw error;
    }
    this.current = next;
    this.renewedAt = sentAt;
    return next;
  }

  /** A lost compare-and-swap: another request took the upload over, or it was cancelled. */
  private async takenOver(previous: UploadSession): Promise<RegistryError> {
    const now = await this.deps.metadata.getUpload(previous.id).catch(() => previous);
    if (!now) return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${previous.id} was cancelled or has expired; start a new upload`);
    return busy(now, 'the upload was taken over or cancelled by another request');
  }

  private lose(error: Error): Error {
    if (!this.failure) {
      this.failure = error;
      for (const reject of this.waiters) reject(error);
      this.waiters.clear();
      this.stop();
    }
    return this.failure;
  }

  private tick(): void {
    if (this.failure) return;
    const now = this.deps.clock.now();
    if (this.bodyWait && now - this.bodyWait.since >= BODY_STALL_MS) {
      // The client went silent: this request ends, and gives the session back like any failure.
      this.bodyWait.reject(new RegistryError('BLOB_UPLOAD_INVALID', `no bytes of the request body arrived for ${BODY_STALL_MS / 1000} s; check the upload status and resume`, {
        detail: { offset: this.current.offset },
      }));
      this.bodyWait = undefined;
    }
    try {
      this.check();
    } catch {
      return; // fenced: guarded waits reject now
    }
    // One renewal at a time: ticks that come while one is queued or in flight (a slow store,
    // or timers that fire in a burst) must not pile up writes that race the next holder.
    if (this.renewing || this.busyWriting || now - this.renewedAt < this.leaseMs / 3) return;
    this.renewing = true;
    this.save().finally(() => (this.renewing = false)).then((saved) => {
      this.deps.logger.log('debug', 'upload lease renewed', { upload: saved.id, until: saved.lease?.until });
    }, (error: unknown) => {
      // Retried at the next tick; check() fences the holder if none succeeds in time.
      this.deps.logger.log('warn', 'upload lease renewal failed', { upload: this.current.id, error: String(error) });
    });
  }
}

export function busy(session: UploadSession, message = 'another request is writing to this upload'): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', message, {
    status: 416,
    headers: { Range: uploadRangeHeader(session.offset) },
    detail: { offset: session.offset, reason: 'busy' },
  });
}

function unavailable(session: UploadSession, message: string): RegistryError {
  return new RegistryError('UNAVAILABLE', `${message}; check the upload status and resume`, {
    headers: { 'Retry-After': '1' },
    detail: { offset: session.offset },
  });
}
