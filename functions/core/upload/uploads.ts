import { RegistryError, StoreNotFoundError } from '../errors';
import type { Digest, DigestAlgorithm } from '../digest';
import type { BlobStore, ByteSource, Clock, Hashing, Logger, MetadataStore, ResumableHasher, Timers, UploadRef } from '../ports';
import type { BlobRecord, UploadSession } from '../records';
import type { ResolvedConfig } from '../config';
import { uploadRangeHeader } from '../http/range';
import { appendBody, type UploadProgress } from './part-writer';
import { HeldUpload, nextPartNumber } from './lease';
import { resumeHasher } from './resume-hash';
import { storeAndLink } from './store-blob';
import type { BlobLocks } from '../gc/ports';
import { underBlobLock } from '../keyed-lock';


export interface UploadDeps {
  blobs: BlobStore;
  metadata: MetadataStore;
  hashing: Hashing;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  config: ResolvedConfig;
  /** Held around completion, so a garbage collection of the same digest cannot interleave. */
  blobLocks?: BlobLocks;
}

export interface AppendOptions {
  /** Content-Range start, when the client sent one: it must equal the current offset. */
  expectedOffset?: number;
  /** Content-Range length or Content-Length, checked against what arrives. */
  expectedLength?: number;
  /** Identifies this request in the lease. */
  requestId: string;
}

/**
 * The upload state machine: open → append* → complete | cancel. It owns offsets, the
 * resumable hash, part bookkeeping and leases; stores only persist what it decides.
 *
 * Concurrency: a request first takes a lease on the session (lease.ts), so two requests can
 * never write the same parts. The loser gets 416 with the current Range, as for an
 * out-of-order chunk. Every way a request can fail gives the session back at once (or
 * discards it, for a digest that does not match), so the client's retry is never refused
 * because of its own failed request.
 */
export class Uploads {
  constructor(private readonly deps: UploadDeps) {}

  async open(repository: string, algorithm: DigestAlgorithm = 'sha256'): Promise<UploadSession> {
    const { blobs, metadata, hashing, clock } = this.deps;
    const id = crypto.randomUUID();
    const handle = await blobs.createUpload(id);
    const hasher = await hashing.resume(algorithm);
    if (!hasher) throw new Error('hashing port could not start a hasher');
    const now = clock.now();
    const session: UploadSession = {
      id, repository, handle, offset: 0, parts: [], hashState: hasher.save(), hashAlgorithm: algorithm,
      version: 0, createdAt: now, updatedAt: now, expiresAt: this.expiry(now),
    };
    await metadata.createUpload(session);
    return session;
  }

  /** Loads a live session of this repository, or throws BLOB_UPLOAD_UNKNOWN. */
  async load(repository: string, id: string): Promise<UploadSession> {
    const session = await this.deps.metadata.getUpload(id);
    if (!session || session.direct || session.repository !== repository || session.expiresAt * 1000 <= this.deps.clock.now()) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id.slice(0, 64)} is unknown or has expired; start a new upload`);
    }
    return session;
  }

  /** PATCH: appends a body at the session's offset. */
  async append(session: UploadSession, body: ByteSource, options: AppendOptions): Promise<UploadSession> {
    checkOffset(session, options);
    if (session.commit) throw committing(session);
    const holder = await this.acquire(session, options.requestId);
    try {
      const hasher = await resumeHasher(this.deps, holder.session);
      const progress = await this.write(holder, hasher, body, options);
      const saved = await holder.saveAndRelease(progress);
      // The old tail was folded into this request's parts (or re-staged under a new name).
      if (session.tail && session.tail.name !== saved.tail?.name) await this.forgetStaged(session, session.tail.name);
      return saved;
    } catch (error) {
      await this.giveBack(holder, error);
      throw this.clientError(error, session);
    }
  }

  /**
   * PUT ?digest=: appends the optional last chunk, verifies the digest and makes the blob
   * visible. On a mismatch the upload is discarded and nothing is stored.
   */
  async complete(session: UploadSession, digest: Digest, body: ByteSource | undefined, options: AppendOptions): Promise<BlobRecord> {
    checkOffset(session, options);
    if (session.commit) return this.finishCommit(session, digest, options);
    // Checked before taking the lease: a wrong algorithm changes nothing, and the corrected PUT may follow at once.
    if (session.offset > 0 && digest.algorithm !== session.hashAlgorithm) {
      throw new RegistryError('DIGEST_INVALID', `this upload was hashed with ${session.hashAlgorithm}; complete it with a ${session.hashAlgorithm} digest`);
    }
    const holder = await this.acquire(session, options.requestId);
    let discarded = false;
    try {
      // A whole blob in one request can use the fastest one-shot hasher, in the digest's algorithm.
      const whole = holder.session.offset === 0;
      if (whole) holder.adopt({ hashAlgorithm: digest.algorithm });
      const hasher = whole ? await this.deps.hashing.oneShot(digest.algorithm) : await resumeHasher(this.deps, holder.session);
      const leased = holder.session;
      const progress: UploadProgress = body
        ? await this.write(holder, hasher, body, options)
        : { offset: leased.offset, parts: leased.parts, tail: leased.tail, hashState: leased.hashState };
      const actual = hasher.digest();
      if (actual !== digest.hex) {
        await this.discard(holder, progress);
        discarded = true;
        throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${digest.algorithm}:${actual}, not ${digest.value}; nothing was stored`, {
          detail: { expected: digest.value, actual: `${digest.algorithm}:${actual}`, size: progress.offset },
        });
      }
      await this.seal(holder, progress, digest.value);
      const record = await this.commit(holder);
      if (session.tail && session.tail.name !== progress.tail?.name) await this.forgetStaged(session, session.tail.name);
      return record;
    } catch (error) {
      if (!discarded) await this.giveBack(holder, error);
      throw this.clientError(error, session);
    }
  }

  /** DELETE: drops the session and whatever it wrote. Wins over an in-flight PATCH. */
  async cancel(session: UploadSession): Promise<void> {
    const { blobs, metadata } = this.deps;
    const ref = refOf(session);
    await blobs.abortUpload(ref);
    if (session.tail) await blobs.deleteStaged(ref, session.tail.name);
    await metadata.deleteUpload(session.id);
  }

  /**
   * Fixes the upload's content before anything becomes visible: the staged tail becomes the
   * last part, and the session records the commit (compare-and-swap). From here on, a
   * holder that loses the lease leaves a commit any later PUT of this digest can finish.
   */
  private async seal(holder: HeldUpload, progress: UploadProgress, digest: string): Promise<void> {
    const { blobs } = this.deps;
    const ref = refOf(holder.session);
    const parts = [...progress.parts];
    if (progress.tail) {
      const bytes = await holder.guard(blobs.getStaged(ref, progress.tail.name));
      const number = nextPartNumber(parts, holder.session.partFloor);
      holder.check();
      parts.push(await holder.guard(blobs.writePart(ref, { number, offset: progress.offset - bytes.byteLength }, bytes)));
    }
    await holder.save({ ...progress, parts, tail: undefined, commit: { digest } });
    if (progress.tail) await this.forgetStaged(holder.session, progress.tail.name);
  }

  /** PUT ?digest= on an upload whose commit began in an earlier request (which died, or whose answer was lost). */
  private async finishCommit(session: UploadSession, digest: Digest, options: AppendOptions): Promise<BlobRecord> {
    const recorded = session.commit!.digest;
    if (digest.value !== recorded) {
      throw new RegistryError('DIGEST_INVALID', `this upload is being completed as ${recorded}; its content is fixed`, { detail: { expected: recorded } });
    }
    const holder = await this.acquire(session, options.requestId);
    try {
      return await this.commit(holder);
    } catch (error) {
      await this.giveBack(holder, error);
      throw this.clientError(error, session);
    }
  }

  /** Makes a sealed upload a blob. Every step may be repeated by a later holder. */
  private async commit(holder: HeldUpload): Promise<BlobRecord> {
    const session = holder.session;
    const digest = session.commit!.digest;
    // Checking for the blob, storing it and linking it happen as one step for a collector that
    // shares the bytes (fs: per-digest lock); a store without locks refuses the link instead.
    const record = await underBlobLock(this.deps.blobLocks, digest, () => storeAndLink(this.deps, holder, refOf(session), digest));
    holder.stop();
    await this.deps.metadata.deleteUpload(session.id);
    return record;
  }

  /**
   * After a failed request: the session goes back to its last saved state, free for the
   * next request; or, when its storage is gone (expired, aborted), it goes too, so that
   * status and every later request agree the upload is unknown.
   */
  private async giveBack(holder: HeldUpload, error: unknown): Promise<void> {
    if (!(error instanceof StoreNotFoundError)) return holder.release();
    try {
      await holder.saveAndRelease({ expiresAt: Math.floor(this.deps.clock.now() / 1000) - 1 });
      await this.deps.blobs.abortUpload(refOf(holder.session));
      await this.deps.metadata.deleteUpload(holder.session.id);
    } catch (cleanup) {
      this.deps.logger.log('warn', 'could not remove an upload whose storage is gone; it expires on its own', { upload: holder.session.id, error: String(cleanup) });
    } finally {
      holder.stop();
    }
  }

  /** Best effort: a leftover staged object is reclaimed by the store's expiry rules. */
  private async forgetStaged(session: UploadSession, name: string): Promise<void> {
    await this.deps.blobs.deleteStaged(refOf(session), name).catch((error: unknown) => {
      this.deps.logger.log('warn', 'could not delete staged tail', { upload: session.id, error: String(error) });
    });
  }

  /**
   * Drops an upload whose content did not match its digest. The session is first expired by
   * compare-and-swap, so nobody else can be holding it while its storage goes.
   */
  private async discard(holder: HeldUpload, progress: UploadProgress): Promise<void> {
    const ref = refOf(holder.session);
    await holder.saveAndRelease({ ...progress, expiresAt: Math.floor(this.deps.clock.now() / 1000) - 1 });
    await this.deps.blobs.abortUpload(ref);
    if (progress.tail) await this.deps.blobs.deleteStaged(ref, progress.tail.name);
    await this.deps.metadata.deleteUpload(holder.session.id);
  }

  /** Streams a body into the upload, checkpointing the session after every part. */
  private async write(holder: HeldUpload, hasher: ResumableHasher, body: ByteSource, options: AppendOptions): Promise<UploadProgress> {
    const session = holder.session;
    const progress = await appendBody(body, {
      blobs: this.deps.blobs,
      upload: refOf(session),
      hasher,
      start: { offset: session.offset, parts: session.parts, tail: session.tail, partFloor: session.partFloor },
      maxBytes: this.deps.config.maxRequestBodyBytes,
      tailName: `${session.id}.${session.version}`,
      fence: holder,
      checkpoint: async (state) => {
        await holder.save(state);
      },
    });
    const received = progress.offset - session.offset;
    if (options.expectedLength !== undefined && received !== options.expectedLength) {
      throw new RegistryError('SIZE_INVALID', `received ${received} bytes but the request announced ${options.expectedLength}`, {
        status: 400, detail: { received, expected: options.expectedLength },
      });
    }
    return progress;
  }

  private acquire(session: UploadSession, owner: string): Promise<HeldUpload> {
    const { metadata, clock, timers, logger, config } = this.deps;
    return HeldUpload.acquire({ metadata, clock, timers, logger, leaseSeconds: config.uploadLeaseSeconds }, session, owner, (now) => this.expiry(now));
  }

  /**
   * The store lost the upload (a DELETE won a race, or it expired): the client must start
   * over. What the store said goes to the log, never to the client.
   */
  private clientError(error: unknown, session: UploadSession): unknown {
    if (!(error instanceof StoreNotFoundError)) return error;
    this.deps.logger.log('warn', 'upload storage is gone', { upload: session.id, error: error.message });
    return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} was cancelled or has expired; start a new upload`);
  }

  private expiry(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.deps.config.uploadSessionTtlSeconds;
  }
}

export function refOf(session: UploadSession): UploadRef {
  return { id: session.id, handle: session.handle };
}

function checkOffset(session: UploadSession, options: AppendOptions): void {
  if (options.expectedOffset !== undefined && options.expectedOffset !== session.offset) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${options.expectedOffset} but the upload holds ${session.offset} bytes`, {
      status: 416,
      headers: { Range: uploadRangeHeader(session.offset) },
      detail: { offset: session.offset },
    });
  }
}

function committing(session: UploadSession): RegistryError {
  const digest = session.commit!.digest;
  return new RegistryError('BLOB_UPLOAD_INVALID', `this upload is being completed as ${digest}; finish it with PUT ?digest=${digest}`, {
    detail: { offset: session.offset, digest },
  });
}
