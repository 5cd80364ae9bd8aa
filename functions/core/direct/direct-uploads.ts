import { RegistryError, StoreNotFoundError } from '../errors';
import type { Digest } from '../digest';
import type { DirectPartUploads, TaskQueue } from '../ports';
import type { DirectUpload, PartRecord, UploadSession } from '../records';
import { refOf, type UploadDeps } from '../upload/uploads';

export interface DirectDeps extends UploadDeps {
  tasks: TaskQueue | undefined;
}

const MiB = 1024 * 1024;
/** Most part URLs handed out per response (a Lambda response must stay small). */
export const MAX_URLS_PER_RESPONSE = 100;

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

  async load(repository: string, id: string): Promise<UploadSession & { direct: DirectUpload }> {
    const session = await this.deps.metadata.getUpload(id);
    if (!session?.direct || session.repository !== repository || session.expiresAt * 1000 <= this.deps.clock.now()) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `direct upload ${id.slice(0, 64)} is unknown or has expired`);
    }
    return session as UploadSession & { direct: DirectUpload };
  }

  /** Presigned URLs for parts first..first+count-1 (clamped to the plan). */
  async partUrls(session: UploadSession & { direct: DirectUpload }, first: number, count: number): Promise<PartUrl[]> {
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
   * when a task queue is configured). Returns the session as it stands afterwards.
   */
  async complete(session: UploadSession & { direct: DirectUpload }, etags: Array<{ number: number; etag: string }>): Promise<UploadSession & { direct: DirectUpload }> {
    const { direct } = session;
    if (direct.state !== 'uploading') return session; // a retried completion: report where it stands
    const parts = planParts(direct, etags);
    let location: string;
    try {
      location = await this.deps.blobs.completeUpload(refOf(session), parts, direct.size, direct.digest);
    } catch (error) {
      if (error instanceof StoreNotFoundError) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'the storage upload is gone; start the push again');
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'storage refused the parts: check that every part was uploaded and its ETag reported', {
        detail: { reason: error instanceof Error ? error.message.slice(0, 300) : String(error) },
      });
    }
    const verifying = await this.save(session, { ...direct, state: 'verifying', location });
    if (this.deps.tasks) {
      await this.deps.tasks.enqueue({ type: 'verify-direct-upload', upload: session.id });
      return verifying;
    }
    await this.verify(session.id);
    return (await this.deps.metadata.getUpload(session.id)) as UploadSession & { direct: DirectUpload };
  }

  /**
   * The background step: hash every byte of the assembled object. Only a match makes the
   * blob visible (blob record + repository link); a mismatch deletes the bytes.
   */
  async verify(id: string): Promise<void> {
    const session = await this.deps.metadata.getUpload(id);
    const direct = session?.direct;
    if (!session || !direct || direct.state !== 'verifying' || !direct.location) return;
    const { blobs, metadata, hashing, clock, logger } = this.deps;
    const hasher = await hashing.oneShot(session.hashAlgorithm);
    const object = await blobs.read(direct.location);
    let size = 0;
    for await (const chunk of object.body) {
      hasher.update(chunk);
      size += chunk.byteLength;
    }
    const actual = `${session.hashAlgorithm}:${hasher.digest()}`;
    if (actual !== direct.digest || size !== direct.size) {
      await blobs.delete(direct.location);
      const message = actual !== direct.digest
        ? `the uploaded bytes have digest ${actual}, not ${direct.digest}; they were deleted`
        : `the uploaded bytes are ${size} bytes long, not ${direct.size}; they were deleted`;
      logger.log('warn', 'direct upload failed verification', { upload: id, expected: direct.digest, actual, size });
      await this.save(session, { ...direct, state: 'failed', error: { code: 'DIGEST_INVALID', message } });
      return;
    }
    const result = await metadata.putBlob({ digest: direct.digest, size, location: direct.location, createdAt: clock.now() });
    if (!result.created && result.record.location !== direct.location) await blobs.delete(direct.location);
    await metadata.linkBlob(session.repository, direct.digest);
    await this.save(session, { ...direct, state: 'verified' });
  }

  async cancel(session: UploadSession & { direct: DirectUpload }): Promise<void> {
    if (session.direct.state === 'verified') return;
    await this.deps.blobs.abortUpload(refOf(session));
    if (session.direct.location && session.direct.state !== 'failed') await this.deps.blobs.delete(session.direct.location);
    await this.deps.metadata.deleteUpload(session.id);
  }

  private async save(session: UploadSession, direct: DirectUpload): Promise<UploadSession & { direct: DirectUpload }> {
    const now = this.deps.clock.now();
    const next = { ...session, direct, version: session.version + 1, updatedAt: now };
    await this.deps.metadata.updateUpload(next, session.version);
    return next;
  }
}

export function partCount(direct: Pick<DirectUpload, 'size' | 'partSize'>): number {
  return Math.ceil(direct.size / direct.partSize);
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
