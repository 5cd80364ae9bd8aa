import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import type { BlobReadResult, BlobStore, ByteRange, ByteSource, PartPolicy, PartRecord, UploadRef } from '../../core/index';
import { StoreNotFoundError } from '../../core/index';
import { FileBody } from '../node/file-body';
import { isNotFound, removeFile, renameDurably, writeFileAtomic, type DurableFs } from './atomic';
import { DataLayout } from './paths';

export interface FsBlobStoreOptions {
  /** fsync each part before it is recorded, surviving power loss, not just crashes. @default true */
  readonly fsync?: boolean;
  /** Bytes per part; a checkpoint (and lease renewal) follows each part. @default 64 MiB */
  readonly partSize?: number;
  /** The file operations durable renames make (tests record them). @default node:fs */
  readonly fs?: DurableFs;
}

/** Socket-sized chunks are gathered into writes of about this size (fewer syscalls). */
const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Writes a stream at `position`, one batch in flight while the next one gathers, so at
 * most two batches are in memory. Returns the bytes written.
 */
async function writeBatched(file: FileHandle, source: ByteSource, position: number): Promise<number> {
  let inFlight: Promise<unknown> | undefined;
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let written = 0;
  const flush = async () => {
    await inFlight;
    const buffers = batch;
    const at = position + written;
    written += batchBytes;
    batch = [];
    batchBytes = 0;
    inFlight = file.writev(buffers, at);
    (inFlight as Promise<unknown>).catch(() => undefined); // awaited on the next flush or below
  };
  for await (const chunk of source) {
    batch.push(chunk);
    batchBytes += chunk.byteLength;
    if (batchBytes >= WRITE_BATCH_BYTES) await flush();
  }
  if (batchBytes > 0) await flush();
  await inFlight;
  return written;
}

/**
 * Blobs on the local disk. An upload is one file written in place at part offsets (not
 * through tmp/: a part is flushed before the session checkpoint records it, and bytes past
 * the checkpoint are overwritten on resume or cut at commit); completing it renames the file
 * to its content address, so commit costs the same at 1 MiB and 1 GiB.
 */
export class FsBlobStore implements BlobStore {
  readonly partPolicy: PartPolicy;
  private readonly layout: DataLayout;
  private readonly fsync: boolean;
  private readonly fs: DurableFs | undefined;

  constructor(root: string, options: FsBlobStoreOptions = {}) {
    this.layout = new DataLayout(root);
    this.fsync = options.fsync ?? true;
    this.fs = options.fs;
    this.partPolicy = { minPartSize: 0, partSize: options.partSize ?? 64 * 1024 * 1024, maxParts: 1_000_000 };
  }

  async init(): Promise<void> {
    await mkdir(this.layout.tmp, { recursive: true });
    await mkdir(this.layout.uploadsRoot, { recursive: true });
  }

  async createUpload(id: string): Promise<string> {
    await mkdir(this.layout.upload(id), { recursive: true });
    const handle = await open(this.layout.uploadData(id), 'w', 0o600);
    await handle.close();
    return '';
  }

  async writePart(upload: UploadRef, part: { number: number; offset: number }, body: ByteSource | Uint8Array): Promise<PartRecord> {
    let file: FileHandle;
    try {
      file = await open(this.layout.uploadData(upload.id), 'r+');
    } catch (error) {
      if (isNotFound(error)) throw new StoreNotFoundError(`upload ${upload.id} has no data file`);
      throw error;
    }
    try {
      const size = body instanceof Uint8Array
        ? (await file.write(body, 0, body.byteLength, part.offset)).bytesWritten
        : await writeBatched(file, body, part.offset);
      // The core checkpoints the upload after each part: the bytes must be on disk by then.
      // Flushing per part also keeps the final commit's cost flat, whatever the blob's size.
      if (this.fsync) await file.datasync();
      return { number: part.number, size, etag: '' };
    } finally {
      await file.close();
    }
  }

  async putStaged(upload: UploadRef, name: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.layout.tmp, this.layout.staged(upload.id, name), bytes, { fsync: this.fsync });
  }

  async getStaged(upload: UploadRef, name: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.layout.staged(upload.id, name)));
    } catch (error) {
      if (isNotFound(error)) throw new StoreNotFoundError(`staged bytes ${name} of upload ${upload.id} are missing`);
      throw error;
    }
  }

  async deleteStaged(upload: UploadRef, name: string): Promise<void> {
    await removeFile(this.layout.staged(upload.id, name));
  }

  async completeUpload(upload: UploadRef, _parts: PartRecord[], size: number, digest: string): Promise<string> {
    const data = this.layout.uploadData(upload.id);
    let handle: FileHandle;
    try {
      handle = await open(data, 'r+');
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Completed before (the commit that followed failed, or the process died): the blob is in place.
      const done = await stat(this.layout.blob(digest)).catch(() => undefined);
      if (done?.size === size) return this.layout.blobLocation(digest);
      throw new StoreNotFoundError(`upload ${upload.id} has no data file`);
    }
    try {
      // Bytes past `size` are from a request that crashed before it was recorded. Every
      // part was flushed when written; only the length (metadata) is left to flush.
      await handle.truncate(size);
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    // Same digest, same bytes: replacing a concurrent writer's identical file is harmless.
    // With fsync the rename is flushed too (the blob's directory), before the blob is recorded.
    await renameDurably(data, this.layout.blob(digest), { fsync: this.fsync, ...(this.fs ? { fs: this.fs } : {}) });
    await rm(this.layout.upload(upload.id), { recursive: true, force: true });
    return this.layout.blobLocation(digest);
  }

  async abortUpload(upload: UploadRef): Promise<void> {
    await rm(this.layout.upload(upload.id), { recursive: true, force: true });
  }

  async readUpload(upload: UploadRef, _parts: PartRecord[], size: number): Promise<ByteSource | undefined> {
    if (size === 0) return (async function* () {})();
    return createReadStream(this.layout.uploadData(upload.id), { start: 0, end: size - 1 });
  }

  async read(location: string, range?: ByteRange): Promise<BlobReadResult> {
    const path = this.layout.resolveLocation(location);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if (isNotFound(error)) throw new StoreNotFoundError(`blob file ${location} is missing`);
      throw error;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    const stream = length === 0 ? new ReadableStream<Uint8Array>({ start: (c) => c.close() }) : new FileBody(path, start, end);
    return { body: stream, length };
  }

  async presign(): Promise<string | undefined> {
    return undefined;
  }

  async delete(location: string): Promise<void> {
    await removeFile(this.layout.resolveLocation(location), { fsync: this.fsync, ...(this.fs ? { fs: this.fs } : {}) });
  }
}
