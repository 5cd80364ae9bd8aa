import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobReadResult, BlobStore, ByteRange, ByteSource, PartPolicy, PartRecord, UploadRef } from '../../core/index';
import { StoreNotFoundError } from '../../core/index';
import { isNotFound, removeFile, writeFileAtomic } from './atomic';
import { DataLayout } from './paths';

export interface FsBlobStoreOptions {
  /** fsync blob bytes before they become visible, surviving power loss, not just crashes. @default true */
  readonly fsync?: boolean;
  /** Bytes per part; a checkpoint (and lease renewal) follows each part. @default 64 MiB */
  readonly partSize?: number;
}

/**
 * Blobs on the local disk. An upload is one file written at part offsets; completing it
 * renames the file to its content address, so commit costs the same at 1 MiB and 1 GiB.
 */
export class FsBlobStore implements BlobStore {
  readonly partPolicy: PartPolicy;
  private readonly layout: DataLayout;
  private readonly fsync: boolean;

  constructor(root: string, options: FsBlobStoreOptions = {}) {
    this.layout = new DataLayout(root);
    this.fsync = options.fsync ?? true;
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
    const path = this.layout.uploadData(upload.id);
    let size = 0;
    const counted = async function* (source: ByteSource | Uint8Array) {
      if (source instanceof Uint8Array) {
        size += source.byteLength;
        yield source;
        return;
      }
      for await (const chunk of source) {
        size += chunk.byteLength;
        yield chunk;
      }
    };
    try {
      await pipeline(Readable.from(counted(body)), createWriteStream(path, { flags: 'r+', start: part.offset }));
    } catch (error) {
      if (isNotFound(error)) throw new StoreNotFoundError(`upload ${upload.id} has no data file`);
      throw error;
    }
    return { number: part.number, size, etag: '' };
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
    const handle = await open(data, 'r+');
    try {
      // Bytes past `size` are from a request that crashed before it was recorded.
      await handle.truncate(size);
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    const target = this.layout.blob(digest);
    await mkdir(dirname(target), { recursive: true });
    // Same digest, same bytes: replacing a concurrent writer's identical file is harmless.
    await rename(data, target);
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
    const stream = length === 0
      ? new ReadableStream<Uint8Array>({ start: (c) => c.close() })
      : (Readable.toWeb(createReadStream(path, { start, end, highWaterMark: 1024 * 1024 })) as ReadableStream<Uint8Array>);
    return { body: stream, length };
  }

  async presign(): Promise<string | undefined> {
    return undefined;
  }

  async delete(location: string): Promise<void> {
    await removeFile(this.layout.resolveLocation(location));
  }
}
