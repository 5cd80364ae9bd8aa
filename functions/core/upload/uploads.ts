import { RegistryError, StoreConflictError, StoreNotFoundError } from '../errors';
import type { Digest, DigestAlgorithm } from '../digest';
import type { BlobStore, ByteSource, Clock, Hashing, Logger, MetadataStore, ResumableHasher, UploadRef } from '../ports';
import type { BlobRecord, UploadSession } from '../records';
import type { ResolvedConfig } from '../config';
import { uploadRangeHeader } from '../http/range';
import { appendBody, type UploadProgress } from './part-writer';

export interface UploadDeps {
  blobs: BlobStore;
  metadata: MetadataStore;
  hashing: Hashing;
  clock: Clock;
  logger: Logger;
  config: ResolvedConfig;
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
 * Concurrency: a request first takes a lease on the session by compare-and-swap on its
 * version, so two requests can never write the same parts. The loser gets 416 with the
 * current Range, as for an out-of-order chunk.
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
    if (options.expectedOffset !== undefined && options.expectedOffset !== session.offset) {
      throw outOfOrder(session, `chunk starts at ${options.expectedOffset} but the upload holds ${session.offset} bytes`);
    }
    const held = { session: await this.acquire(session, options.requestId) };
    try {
      const hasher = await this.resumeHasher(held.session);
      const progress = await this.write(held, hasher, body, options);
      const saved = await this.save(held.session, progress, { release: true });
      // The old tail was folded into this request's parts (or re-staged under a new name).
      if (session.tail && session.tail.name !== saved.tail?.name) await this.forgetStaged(session, session.tail.name);
      return saved;
    } catch (error) {
      await this.release(held.session);
      throw goneIfMissing(error, session);
    }
  }

  /**
   * PUT ?digest=: appends the optional last chunk, verifies the digest and makes the blob
   * visible. On a mismatch the upload is discarded and nothing is stored.
   */
  async complete(session: UploadSession, digest: Digest, body: ByteSource | undefined, options: AppendOptions): Promise<BlobRecord> {
    if (options.expectedOffset !== undefined && options.expectedOffset !== session.offset) {
      throw outOfOrder(session, `chunk starts at ${options.expectedOffset} but the upload holds ${session.offset} bytes`);
    }
    const held = { session: await this.acquire(session, options.requestId) };
    try {
      // A whole blob in one request can use the fastest one-shot hasher, in the digest's algorithm.
      const whole = held.session.offset === 0;
      if (whole) held.session = { ...held.session, hashAlgorithm: digest.algorithm };
      const leased = held.session;
      const hasher = whole ? await this.deps.hashing.oneShot(digest.algorithm) : await this.resumeHasher(leased, digest.algorithm);
      const progress: UploadProgress = body
        ? await this.write(held, hasher, body, options)
        : { offset: leased.offset, parts: leased.parts, tail: leased.tail, hashState: leased.hashState };
      const actual = hasher.digest();
      if (actual !== digest.hex) {
        await this.discard(leased, progress);
        throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${digest.algorithm}:${actual}, not ${digest.value}; nothing was stored`, {
          detail: { expected: digest.value, actual: `${digest.algorithm}:${actual}`, size: progress.offset },
        });
      }
      const record = await this.commit(leased, progress, digest.value);
      if (session.tail && session.tail.name !== progress.tail?.name) await this.forgetStaged(session, session.tail.name);
      return record;
    } catch (error) {
      if (!(error instanceof RegistryError && error.code === 'DIGEST_INVALID')) await this.release(held.session);
      throw goneIfMissing(error, session);
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

  private async commit(session: UploadSession, progress: UploadProgress, digest: string): Promise<BlobRecord> {
    const { blobs, metadata, clock } = this.deps;
    const ref = refOf(session);
    const existing = await metadata.getBlob(digest);
    let record: BlobRecord;
    if (existing) {
      // Someone stored these bytes already: keep theirs, drop ours.
      await blobs.abortUpload(ref);
      record = existing;
    } else {
      const parts = [...progress.parts];
      if (progress.tail) {
        const bytes = await blobs.getStaged(ref, progress.tail.name);
        const number = (parts.at(-1)?.number ?? 0) + 1;
        parts.push(await blobs.writePart(ref, { number, offset: progress.offset - bytes.byteLength }, bytes));
      }
      const location = await blobs.completeUpload(ref, parts, progress.offset, digest);
      const result = await metadata.putBlob({ digest, size: progress.offset, location, createdAt: clock.now() });
      record = result.record;
      if (!result.created && result.record.location !== location) await blobs.delete(location);
    }
    await metadata.linkBlob(session.repository, digest);
    await metadata.deleteUpload(session.id);
    if (progress.tail) await this.forgetStaged(session, progress.tail.name);
    return record;
  }

  /** Best effort: a leftover staged object is reclaimed by the store's expiry rules. */
  private async forgetStaged(session: UploadSession, name: string): Promise<void> {
    await this.deps.blobs.deleteStaged(refOf(session), name).catch((error: unknown) => {
      this.deps.logger.log('warn', 'could not delete staged tail', { upload: session.id, error: String(error) });
    });
  }

  private async discard(session: UploadSession, progress: UploadProgress): Promise<void> {
    const ref = refOf(session);
    await this.deps.blobs.abortUpload(ref);
    if (progress.tail) await this.deps.blobs.deleteStaged(ref, progress.tail.name);
    await this.deps.metadata.deleteUpload(session.id);
  }

  /** Streams a body into the upload; `held.session` tracks the session as last saved. */
  private async write(held: { session: UploadSession }, hasher: ResumableHasher, body: ByteSource, options: AppendOptions): Promise<UploadProgress> {
    const session = held.session;
    const leaseMs = this.deps.config.uploadLeaseSeconds * 1000;
    let renewAt = this.deps.clock.now() + leaseMs / 3;
    const progress = await appendBody(body, {
      blobs: this.deps.blobs,
      upload: refOf(session),
      hasher,
      start: { offset: session.offset, parts: session.parts, tail: session.tail },
      maxBytes: this.deps.config.maxRequestBodyBytes,
      tailName: `${session.id}.${session.version}`,
      checkpoint: async (state) => {
        held.session = await this.save(held.session, state, { release: false });
        renewAt = this.deps.clock.now() + leaseMs / 3;
      },
      onBytes: async () => {
        if (this.deps.clock.now() < renewAt) return;
        held.session = await this.save(held.session, undefined, { release: false });
        renewAt = this.deps.clock.now() + leaseMs / 3;
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

  private async resumeHasher(session: UploadSession, algorithm?: DigestAlgorithm): Promise<ResumableHasher> {
    if (algorithm && algorithm !== session.hashAlgorithm) {
      throw new RegistryError('DIGEST_INVALID', `this upload was hashed with ${session.hashAlgorithm}; complete it with a ${session.hashAlgorithm} digest`);
    }
    const resumed = await this.deps.hashing.resume(session.hashAlgorithm, session.hashState);
    if (resumed) return resumed;
    // The fast in-memory hash state is gone (a restart): rebuild it from the bytes, if the store can read them.
    const { blobs } = this.deps;
    const ref = refOf(session);
    const durable = session.offset - (session.tail?.size ?? 0);
    const source = await blobs.readUpload(ref, session.parts, durable);
    const hasher = await this.deps.hashing.resume(session.hashAlgorithm);
    if (!source || !hasher) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'the upload\'s hash state was lost; start the upload again');
    }
    for await (const chunk of source) hasher.update(chunk);
    if (session.tail) hasher.update(await blobs.getStaged(ref, session.tail.name));
    return hasher;
  }

  private async acquire(session: UploadSession, owner: string): Promise<UploadSession> {
    const now = this.deps.clock.now();
    if (session.lease && session.lease.until > now) throw busy(session);
    const leased: UploadSession = {
      ...session, version: session.version + 1, updatedAt: now, expiresAt: this.expiry(now),
      lease: { owner, until: now + this.deps.config.uploadLeaseSeconds * 1000 },
    };
    try {
      await this.deps.metadata.updateUpload(leased, session.version);
    } catch (error) {
      if (error instanceof StoreConflictError) throw busy(session);
      throw error;
    }
    return leased;
  }

  /** Persists progress (or just renews the lease) by compare-and-swap on the version. */
  private async save(session: UploadSession, progress: UploadProgress | undefined, options: { release: boolean }): Promise<UploadSession> {
    const now = this.deps.clock.now();
    const next: UploadSession = {
      ...session,
      ...(progress ? { offset: progress.offset, parts: progress.parts, tail: progress.tail, hashState: progress.hashState } : {}),
      version: session.version + 1, updatedAt: now, expiresAt: this.expiry(now),
    };
    if (progress && !progress.tail) delete next.tail;
    if (options.release) delete next.lease;
    else next.lease = { owner: session.lease?.owner ?? '', until: now + this.deps.config.uploadLeaseSeconds * 1000 };
    try {
      await this.deps.metadata.updateUpload(next, session.version);
    } catch (error) {
      if (error instanceof StoreConflictError) throw busy(session, 'the upload was taken over or cancelled by another request');
      throw error;
    }
    return next;
  }

  private async release(session: UploadSession): Promise<void> {
    try {
      await this.save(session, undefined, { release: true });
    } catch {
      // Lost the lease or the session is gone; the lease will expire on its own.
    }
  }

  private expiry(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.deps.config.uploadSessionTtlSeconds;
  }
}

export function refOf(session: UploadSession): UploadRef {
  return { id: session.id, handle: session.handle };
}

function outOfOrder(session: UploadSession, message: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', message, {
    status: 416,
    headers: { Range: uploadRangeHeader(session.offset) },
    detail: { offset: session.offset },
  });
}

/** The store lost the upload (a DELETE won a race, or it expired): the client must start over. */
function goneIfMissing(error: unknown, session: UploadSession): unknown {
  if (!(error instanceof StoreNotFoundError)) return error;
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${session.id} was cancelled or has expired; start a new upload`, {
    detail: { reason: error.message },
  });
}

function busy(session: UploadSession, message = 'another request is writing to this upload'): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', message, {
    status: 416,
    headers: { Range: uploadRangeHeader(session.offset) },
    detail: { offset: session.offset, reason: 'busy' },
  });
}
