import { RegistryError, StoreConflictError, StoreNotFoundError, StoreReferenceMissingError, StoreThrottledError, StoreUnavailableError } from '../errors';
import type { Digest } from '../digest';
import type { DirectPartUploads, TaskQueue } from '../ports';
import type { DirectUpload, PartRecord, UploadSession } from '../records';
import { refOf, type UploadDeps } from '../upload/uploads';
import { underBlobLock } from '../keyed-lock';
import { MAX_URLS_PER_RESPONSE, partCount } from './parts';

export { MAX_URLS_PER_RESPONSE, partCount } from './parts';

export interface DirectDeps extends UploadDeps {
  tasks: TaskQueue | undefined;
}

const MiB = 1024 * 1024;
/** Hand-overs to the verifier before an upload whose verification never finishes is declared failed. */
export const MAX_VERIFY_ATTEMPTS = 3;
/** A hand-over the task queue refused is tried again this soon, by the next status request. */
const RETRY_DISPATCH_MS = 5_000;
type Direct = UploadSession & { direct: DirectUpload };

/**
 * How long one verification may take before a status request hands it over again: two
 * minutes for queueing and a cold start, plus reading the object at 10 MB/s (the verifier
 * reads S3 at about ten times that). A hand-over that was only slow makes a duplicate run,
 * which changes nothing: verification is idempotent.
 */
export function verifyDeadlineMs(size: number): number {
  return 120_000 + Math.ceil(size / 10_000);
}

export interface PartUrl {
  number: number;
  url: string;
}

/**
 * Direct uploads, a Nimbus extension for CI: the client PUTs parts straight to storage
 * through presigned URLs, then asks the registry to assemble them. The assembled bytes
 * stay invisible until a background worker has hashed every byte and found the promised
 * digest; otherwise they are deleted and the upload fails with DIGEST_INVALID.
 */
/** What requests and tasks use of direct uploads (context.ts); loaded on first use (app.ts). */
export type DirectService = Pick<DirectUploads, 'start' | 'load' | 'partUrls' | 'complete' | 'refresh' | 'verify' | 'cancel'>;

export class DirectUploads {
  constructor(private readonly deps: DirectDeps) {}

  private get store(): DirectPartUploads {
    const direct = this.deps.blobs.direct;
    if (!direct) throw new RegistryError('UNSUPPORTED', 'this registry\'s storage does not take direct uploads; push through the Distribution API');
    return direct;
  }

  /** Plans the parts and opens the storage upload. */
  async start(repository: string, digest: Digest, size: number): Promise<UploadSession> {
    const store = this.store;
    const partSize = choosePartSize(size, store);
    const id = crypto.randomUUID();
    const handle = await store.createUpload(id);
    const now = this.deps.clock.now();
    const session: UploadSession = {
      id, repository, handle, offset: 0, parts: [], hashState: '', hashAlgorithm: digest.algorithm, version: 0,
      createdAt: now, updatedAt: now, expiresAt: Math.floor(now / 1000) + this.deps.config.uploadSessionTtlSeconds,
      direct: { digest: digest.value, size, partSize, state: 'uploading' },
    };
    await this.deps.metadata.createUpload(session);
    return session;
  }

  async load(repository: string, id: string): Promise<Direct> {
    const session = await this.deps.metadata.getUpload(id);
    if (!session?.direct || session.repository !== repository || session.expiresAt * 1000 <= this.deps.clock.now()) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `direct upload ${id.slice(0, 64)} is unknown or has expired`);
    }
    return session as Direct;
  }

  /** Presigned URLs for parts first..first+count-1 (clamped to the plan). */
  async partUrls(session: Direct, first: number, count: number): Promise<PartUrl[]> {
    if (session.direct.state !== 'uploading') throw new RegistryError('BLOB_UPLOAD_INVALID', `direct upload is ${session.direct.state}, not accepting parts`);
    const total = partCount(session.direct);
    const last = Math.min(total, first + Math.min(count, MAX_URLS_PER_RESPONSE) - 1);
    const ref = refOf(session);
    const ttl = this.deps.config.directPartUrlTtlSeconds;
    const numbers = Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
    return Promise.all(numbers.map(async (number) => ({ number, url: await this.store.presignPart(ref, number, ttl) })));
  }

  /**
   * Assembles the client's parts where they are, then verifies them (in the background
   * when a task queue is configured). Returns the session as it stands afterwards; a
   * retried completion reports where verification stands.
   */
  async complete(session: Direct, etags: Array<{ number: number; etag: string }>): Promise<Direct> {
    const { direct } = session;
    if (direct.state !== 'uploading') return this.refresh(session);
    const location = await this.assemble(session, planParts(direct, etags));
    const verification = { attempts: 0, dueAt: this.deps.clock.now() };
    return this.dispatch(await this.save(session, { ...direct, state: 'verifying', location, verification }));
  }

  /**
   * Where a direct upload stands. A verification past its deadline (the worker's event was
   * lost, or it failed every retry) is handed over again, at most MAX_VERIFY_ATTEMPTS times
   * in all; then the upload fails with an error that says to push again. Never stuck verifying.
   */
  async refresh(session: Direct): Promise<Direct> {
    const { direct } = session;
    if (direct.state !== 'verifying' || (direct.verification?.dueAt ?? 0) > this.deps.clock.now()) return session;
    return this.dispatch(session);
  }

  /**
   * The background step: hash every byte of the assembled object. Only a match makes the
   * blob visible (blob record + repository link); a mismatch deletes the bytes. Safe to run
   * twice, or after the upload was settled or cancelled. Storage failures throw, so the
   * worker retries the task (and, past its retries, keeps it in its dead-letter queue).
   */
  async verify(id: string): Promise<void> {
    const { blobs, metadata, clock, logger } = this.deps;
    const session = await metadata.getUpload(id);
    const direct = session?.direct;
    if (!session || !direct || direct.state !== 'verifying' || !direct.location) {
      logger.log('info', 'direct upload needs no verification: settled already, or gone', { upload: id, state: direct?.state ?? null });
      return;
    }
    let actual: { digest: string; size: number };
    try {
      actual = await this.hash(session.hashAlgorithm, direct.location);
    } catch (error) {
      if (!(error instanceof StoreNotFoundError)) throw error;
      // Cancelled, or a concurrent run found the bytes wrong and deleted them: it settles the upload.
      const now = await metadata.getUpload(id);
      if (now?.direct?.state !== 'verifying') return;
      // Not settled yet: the worker retries; past its retries a status request gives up on it.
      throw new Error(`the assembled bytes of direct upload ${id} are missing while it is verifying`, { cause: error });
    }
    if (actual.digest !== direct.digest || actual.size !== direct.size) {
      await blobs.delete(direct.location);
      const message = actual.digest !== direct.digest
        ? `the uploaded bytes have digest ${actual.digest}, not ${direct.digest}; they were deleted`
        : `the uploaded bytes are ${actual.size} bytes long, not ${direct.size}; they were deleted`;
      logger.log('warn', 'direct upload failed verification', { upload: id, expected: direct.digest, ...actual });
      return this.settle(id, (current) => ({ ...current, state: 'failed', error: { code: 'DIGEST_INVALID', message } }));
    }
    // As an upload's completion: one step for a collector that shares the bytes (gc/ports.ts
    // BlobLocks), and link before dropping our copy: a store whose collector deleted the stored
    // copy in between refuses the link (StoreReferenceMissingError), and ours is stored instead.
    const location = direct.location;
    await underBlobLock(this.deps.blobLocks, direct.digest, async () => {
      for (let attempt = 1; ; attempt++) {
        const result = await metadata.putBlob({ digest: direct.digest, size: actual.size, location, createdAt: clock.now() });
        try {
          await metadata.linkBlob(session.repository, direct.digest);
        } catch (error) {
          if (error instanceof StoreReferenceMissingError && attempt < 3) continue;
          throw error;
        }
        if (!result.created && result.record.location !== location) await blobs.delete(location);
        return;
      }
    });
    await this.settle(id, (current) => ({ ...current, state: 'verified' }));
  }

  async cancel(session: Direct): Promise<void> {
    if (session.direct.state === 'verified') return;
    await this.deps.blobs.abortUpload(refOf(session));
    if (session.direct.location && session.direct.state !== 'failed') await this.deps.blobs.delete(session.direct.location);
    await this.deps.metadata.deleteUpload(session.id);
  }

  /** CompleteMultipartUpload on the client's parts. What storage said goes to the log, not to the client. */
  private async assemble(session: Direct, parts: PartRecord[]): Promise<string> {
    try {
      return await this.deps.blobs.completeUpload(refOf(session), parts, session.direct.size, session.direct.digest);
    } catch (error) {
      if (error instanceof StoreNotFoundError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'the storage upload is gone; start the push again');
      if (error instanceof StoreThrottledError || error instanceof StoreUnavailableError || error instanceof StoreConflictError) throw error;
      this.deps.logger.log('warn', 'storage refused the parts of a direct upload', { upload: session.id, error: String(error) });
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'storage refused the parts: check that every part was uploaded and its ETag reported');
    }
  }

  /** Hands verification to the worker (or runs it here), claiming the attempt first so concurrent requests hand it over once. */
  private async dispatch(session: Direct): Promise<Direct> {
    const { direct } = session;
    const attempts = direct.verification?.attempts ?? 0;
    if (attempts >= MAX_VERIFY_ATTEMPTS) {
      this.deps.logger.log('error', 'direct upload verification never finished; giving up', { upload: session.id, attempts });
      const message = `the uploaded bytes could not be verified (${attempts} attempts); push the blob again`;
      await this.settle(session.id, (current) => ({ ...current, state: 'failed', error: { code: 'BLOB_UPLOAD_INVALID', message } }));
      return this.reload(session);
    }
    const now = this.deps.clock.now();
    let claimed: Direct;
    try {
      claimed = await this.save(session, { ...direct, verification: { attempts: attempts + 1, dueAt: now + verifyDeadlineMs(direct.size) } });
    } catch (error) {
      if (error instanceof StoreConflictError) return this.reload(session); // another request handed it over
      throw error;
    }
    const { tasks } = this.deps;
    if (!tasks) {
      await this.verify(session.id);
      return this.reload(session);
    }
    try {
      await tasks.enqueue({ type: 'verify-direct-upload', upload: session.id });
    } catch (error) {
      this.deps.logger.log('warn', 'could not hand a direct upload to the verifier; a status request tries again', { upload: session.id, error: String(error) });
      const retry = { ...claimed.direct, verification: { attempts: attempts + 1, dueAt: now + RETRY_DISPATCH_MS } };
      return this.save(claimed, retry).catch(() => this.reload(session));
    }
    return claimed;
  }

  private async hash(algorithm: UploadSession['hashAlgorithm'], location: string): Promise<{ digest: string; size: number }> {
    const hasher = await this.deps.hashing.oneShot(algorithm);
    const object = await this.deps.blobs.read(location);
    let size = 0;
    for await (const chunk of object.body) {
      hasher.update(chunk);
      size += chunk.byteLength;
    }
    return { digest: `${algorithm}:${hasher.digest()}`, size };
  }

  /** Ends verification (verifying → verified | failed) by compare-and-swap; a settled or vanished upload is left alone. */
  private async settle(id: string, change: (current: DirectUpload) => DirectUpload): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.deps.metadata.getUpload(id);
      if (!current?.direct || current.direct.state !== 'verifying') return;
      try {
        await this.save(current, change(current.direct));
        return;
      } catch (error) {
        if (!(error instanceof StoreConflictError)) throw error;
      }
    }
    throw new StoreConflictError(`direct upload ${id} kept changing while its verification settled`);
  }

  private async reload(session: UploadSession): Promise<Direct> {
    const current = await this.deps.metadata.getUpload(session.id);
    if (!current?.direct) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `direct upload ${session.id} was cancelled or has expired`);
    return current as Direct;
  }

  private async save(session: UploadSession, direct: DirectUpload): Promise<Direct> {
    const now = this.deps.clock.now();
    const next = { ...session, direct, version: session.version + 1, updatedAt: now };
    await this.deps.metadata.updateUpload(next, session.version);
    return next;
  }
}

function choosePartSize(size: number, store: DirectPartUploads): number {
  const needed = Math.ceil(size / store.maxParts / MiB) * MiB;
  const partSize = Math.max(store.preferredPartSize, store.minPartSize, needed);
  if (Math.ceil(size / partSize) > store.maxParts) {
    throw new RegistryError('SIZE_INVALID', `a blob of ${size} bytes is too large for direct upload`, { status: 413 });
  }
  return partSize;
}

/** The parts the plan calls for, with the client's ETags; every one must be reported. */
function planParts(direct: DirectUpload, etags: Array<{ number: number; etag: string }>): PartRecord[] {
  const total = partCount(direct);
  const byNumber = new Map(etags.map((part) => [part.number, part.etag]));
  if (byNumber.size !== etags.length) throw new RegistryError('BLOB_UPLOAD_INVALID', 'a part number is reported twice');
  const parts: PartRecord[] = [];
  for (let number = 1; number <= total; number++) {
    const etag = byNumber.get(number);
    if (!etag) throw new RegistryError('BLOB_UPLOAD_INVALID', `part ${number} of ${total} was not reported`, { detail: { missing: number } });
    const size = number < total ? direct.partSize : direct.size - direct.partSize * (total - 1);
    parts.push({ number, size, etag });
  }
  if (byNumber.size !== total) throw new RegistryError('BLOB_UPLOAD_INVALID', `the upload has ${total} parts, not ${byNumber.size}`);
  return parts;
}
