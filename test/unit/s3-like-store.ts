import { createHash } from 'node:crypto';
import { StoreNotFoundError, type BlobStore, type ByteSource, type PartRecord, type UploadRef } from '../../functions/core/index';

/**
 * An in-memory BlobStore with S3's multipart rules (every part but the last at least
 * `minPartSize`, parts sized up front), so the core's part cutting can be tested fast
 * and exhaustively without an emulator.
 */
export class S3LikeStore implements BlobStore {
  readonly partPolicy;
  readonly uploads = new Map<string, Map<number, Uint8Array>>();
  readonly staged = new Map<string, Uint8Array>();
  readonly blobs = new Map<string, Uint8Array>();
  maxBufferedPart = 0;
  partWrites = 0;
  /** Direct uploads: a "presigned URL" names the part; tests PUT bytes with uploadDirectPart. */
  readonly direct = {
    minPartSize: 0,
    maxParts: 10_000,
    preferredPartSize: 16 * 1024 * 1024,
    createUpload: (id: string) => this.createUpload(id),
    presignPart: async (upload: UploadRef, partNumber: number, expiresInSeconds: number) => `memory://${upload.id}/${partNumber}?expires=${expiresInSeconds}`,
  };

  constructor(minPartSize: number, partSize: number, maxParts = 10_000) {
    this.partPolicy = { minPartSize, partSize, maxParts };
  }

  async createUpload(id: string): Promise<string> {
    this.uploads.set(id, new Map());
    return `mpu-${id}`;
  }

  async writePart(upload: UploadRef, part: { number: number; offset: number }, body: ByteSource | Uint8Array): Promise<PartRecord> {
    if (!(body instanceof Uint8Array)) throw new Error('S3 parts need a known length: expected a buffered part');
    const parts = this.uploads.get(upload.id);
    if (!parts) throw new StoreNotFoundError('NoSuchUpload');
    this.partWrites++;
    this.maxBufferedPart = Math.max(this.maxBufferedPart, body.byteLength);
    parts.set(part.number, body.slice());
    return { number: part.number, size: body.byteLength, etag: `"${createHash('md5').update(body).digest('hex')}"` };
  }

  /** What a client's PUT to a presigned part URL does; returns the part's ETag. */
  uploadDirectPart(url: string, bytes: Uint8Array): string {
    const match = /^memory:\/\/([^/]+)\/(\d+)/.exec(url);
    const parts = match && this.uploads.get(match[1]!);
    if (!parts) throw new Error(`no such upload for ${url}`);
    parts.set(Number(match[2]), bytes.slice());
    return `"${createHash('md5').update(bytes).digest('hex')}"`;
  }

  async putStaged(upload: UploadRef, name: string, bytes: Uint8Array): Promise<void> {
    this.staged.set(`${upload.id}/${name}`, bytes.slice());
  }
  async getStaged(upload: UploadRef, name: string): Promise<Uint8Array> {
    const bytes = this.staged.get(`${upload.id}/${name}`);
    if (!bytes) throw new StoreNotFoundError('NoSuchKey');
    return bytes;
  }
  async deleteStaged(upload: UploadRef, name: string): Promise<void> {
    this.staged.delete(`${upload.id}/${name}`);
  }

  async completeUpload(upload: UploadRef, parts: PartRecord[], size: number, digest: string): Promise<string> {
    const stored = this.uploads.get(upload.id);
    // As S3 does for a repeated completion whose first answer was lost: the object is there.
    if (!stored && this.blobs.get(`uploads/${upload.id}`)?.byteLength === size) return `uploads/${upload.id}`;
    if (!stored) throw new StoreNotFoundError('NoSuchUpload');
    const chunks: Uint8Array[] = [];
    parts.forEach((part, index) => {
      const bytes = stored.get(part.number);
      if (!bytes) throw new Error(`InvalidPart ${part.number}`);
      if (index < parts.length - 1 && bytes.byteLength < this.partPolicy.minPartSize) throw new Error(`EntityTooSmall: part ${part.number} has ${bytes.byteLength} bytes`);
      if (index > 0 && part.number <= parts[index - 1]!.number) throw new Error('InvalidPartOrder');
      chunks.push(bytes);
    });
    const blob = new Uint8Array(Buffer.concat(chunks));
    if (blob.byteLength !== size) throw new Error(`assembled ${blob.byteLength} bytes, expected ${size}`);
    this.uploads.delete(upload.id);
    this.blobs.set(`uploads/${upload.id}`, blob);
    void digest;
    return `uploads/${upload.id}`;
  }

  async abortUpload(upload: UploadRef): Promise<void> {
    this.uploads.delete(upload.id);
  }
  async readUpload(): Promise<undefined> {
    return undefined;
  }
  async read(location: string, range?: { start: number; end: number }) {
    const blob = this.blobs.get(location);
    if (!blob) throw new StoreNotFoundError(location);
    const bytes = range ? blob.subarray(range.start, range.end + 1) : blob;
    return { body: new Response(bytes as Uint8Array<ArrayBuffer>).body!, length: bytes.byteLength };
  }
  async presign(): Promise<string | undefined> {
    return undefined;
  }
  async delete(location: string): Promise<void> {
    this.blobs.delete(location);
  }
}
