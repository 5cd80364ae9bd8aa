import type { BlobReadResult, BlobStore, ByteRange, ByteSource, DirectPartUploads, PartPolicy, PartRecord, UploadRef } from '../../core/index';
import { StoreNotFoundError } from '../../core/index';
import { awsErrorName, guarded, isAwsError } from './aws-errors';
import { objectKeys } from './data-layout';
import { RecentTails } from './recent-tails';
import { s3Access, type S3Access, type S3Source } from './s3-access';

const MiB = 1024 * 1024;
/** S3's floor for every part but the last. */
export const S3_MIN_PART_SIZE = 5 * MiB;
export const S3_MAX_PARTS = 10_000;

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /**
   * Where the core cuts a part when a request body is long enough. At most two parts are
   * in memory at once (one filling, one uploading). @default 16 MiB
   */
  readonly partSize?: number;
  /** Client for presigned upload URLs (see AwsClients.s3Presigner). @default the main client */
  readonly presigner?: S3Source;
}

/** What createUpload hands the core: the object key and S3's multipart UploadId. */
interface UploadHandle {
  key: string;
  uploadId: string;
}

const IMMUTABLE = 'max-age=31536000, immutable';

/**
 * Blobs in S3. Each upload session is one S3 multipart upload at blobs/<session id>;
 * the core cuts bodies into parts of at least 5 MiB and stages shorter tails here as
 * small objects. Completing the multipart upload leaves the blob where it is, so commit
 * costs the same for 1 KiB and 10 GiB. Every part carries a CRC32 that S3 verifies on
 * arrival and again at completion, so corrupted bytes never become a blob.
 */
export class S3BlobStore implements BlobStore {
  readonly partPolicy: PartPolicy;
  readonly direct: DirectPartUploads;
  private readonly bucket: string;
  /** The S3 SDK loads with the first call that needs it (s3-access.ts). */
  private readonly s3: S3Access;
  private readonly recentTails = new RecentTails();

  constructor(s3: S3Source, options: S3BlobStoreOptions) {
    const partSize = options.partSize ?? 16 * MiB;
    if (!Number.isInteger(partSize) || partSize < S3_MIN_PART_SIZE || partSize > 512 * MiB) {
      throw new RangeError(`partSize must be between 5 MiB and 512 MiB, not ${partSize}`);
    }
    this.bucket = options.bucket;
    this.partPolicy = { minPartSize: S3_MIN_PART_SIZE, partSize, maxParts: S3_MAX_PARTS };
    this.s3 = s3Access(s3);
    this.direct = directUploads(this.s3, options.presigner ? s3Access(options.presigner) : this.s3, this.bucket, partSize);
  }

  async createUpload(id: string): Promise<string> {
    const key = objectKeys.blob(id);
    const created = await guarded('S3 CreateMultipartUpload', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.CreateMultipartUploadCommand({
      Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream', CacheControl: IMMUTABLE, ChecksumAlgorithm: 'CRC32',
    }))));
    if (!created.UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
    return JSON.stringify({ key, uploadId: created.UploadId } satisfies UploadHandle);
  }

  async writePart(upload: UploadRef, part: { number: number; offset: number }, body: ByteSource | Uint8Array): Promise<PartRecord> {
    if (!(body instanceof Uint8Array)) throw new Error('S3BlobStore takes buffered parts; the core buffers them when minPartSize > 0');
    if (part.number < 1 || part.number > S3_MAX_PARTS) throw new RangeError(`S3 part numbers run from 1 to ${S3_MAX_PARTS}, not ${part.number}`);
    const { key, uploadId } = parseHandle(upload);
    const written = await guarded(`S3 UploadPart ${part.number}`, () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.UploadPartCommand({
      Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: part.number,
      Body: body, ContentLength: body.byteLength, ChecksumAlgorithm: 'CRC32',
    }))));
    if (!written.ETag || !written.ChecksumCRC32) throw new Error(`S3 UploadPart ${part.number} returned no ETag or CRC32`);
    // Both are needed to complete the upload; part-codec.ts packs this form into 20 bytes.
    return { number: part.number, size: body.byteLength, etag: `${written.ETag} ${written.ChecksumCRC32}` };
  }

  async putStaged(upload: UploadRef, name: string, bytes: Uint8Array): Promise<void> {
    const key = objectKeys.staged(upload.id, name);
    await guarded('S3 PutObject (staged tail)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.PutObjectCommand({
      Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength, ChecksumAlgorithm: 'CRC32',
    }))));
    this.recentTails.remember(key, bytes);
  }

  async getStaged(upload: UploadRef, name: string): Promise<Uint8Array> {
    const key = objectKeys.staged(upload.id, name);
    const recent = this.recentTails.get(key);
    if (recent) return recent;
    const object = await guarded('S3 GetObject (staged tail)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }))));
    if (!object.Body) throw new StoreNotFoundError(`staged bytes ${name} of upload ${upload.id} are missing`);
    return object.Body.transformToByteArray();
  }

  async deleteStaged(upload: UploadRef, name: string): Promise<void> {
    this.recentTails.forget(objectKeys.staged(upload.id, name));
    await guarded('S3 DeleteObject (staged tail)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: objectKeys.staged(upload.id, name) }))));
  }

  async completeUpload(upload: UploadRef, parts: PartRecord[], size: number, _digest: string): Promise<string> {
    const { key, uploadId } = parseHandle(upload);
    const total = parts.reduce((sum, part) => sum + part.size, 0);
    if (total !== size) throw new Error(`parts of upload ${upload.id} hold ${total} bytes, not ${size}`);
    if (parts.length === 0) {
      // S3 cannot complete a multipart upload without parts: an empty blob is a plain object.
      await guarded('S3 PutObject (empty blob)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.PutObjectCommand({
        Bucket: this.bucket, Key: key, Body: new Uint8Array(0), ContentLength: 0, ContentType: 'application/octet-stream', CacheControl: IMMUTABLE,
      }))));
      await this.abortUpload(upload);
      return key;
    }
    const sorted = [...parts].sort((a, b) => a.number - b.number);
    try {
      await guarded('S3 CompleteMultipartUpload', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: key, UploadId: uploadId,
        MultipartUpload: { Parts: sorted.map((part) => ({ PartNumber: part.number, ...splitEtag(part) })) },
      }))));
    } catch (error) {
      // A retry after a completion whose response was lost: the object is already there.
      if (error instanceof StoreNotFoundError && (await this.objectSize(key)) === size) return key;
      if (isAwsError(error, 'EntityTooSmall', 'InvalidPart', 'InvalidPartOrder')) {
        // The recorded parts do not form a valid upload: a bug in part cutting or bookkeeping, not the client's fault.
        throw new Error(`S3 rejected the parts of upload ${upload.id} (${awsErrorName(error)}): ${sorted.length} parts, sizes ${describeSizes(sorted)}`, { cause: error });
      }
      throw error;
    }
    return key;
  }

  async abortUpload(upload: UploadRef): Promise<void> {
    const { key, uploadId } = parseHandle(upload);
    try {
      await guarded('S3 AbortMultipartUpload', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))));
    } catch (error) {
      if (!(error instanceof StoreNotFoundError)) throw error;
    }
    await this.deleteAllStaged(upload.id);
  }

  async readUpload(): Promise<ByteSource | undefined> {
    return undefined; // S3 cannot read the parts of an unfinished multipart upload
  }

  async read(location: string, range?: ByteRange): Promise<BlobReadResult> {
    const object = await guarded('S3 GetObject', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.GetObjectCommand({
      Bucket: this.bucket, Key: checkLocation(location), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
    }))));
    if (!object.Body) throw new StoreNotFoundError(`blob ${location} has no body`);
    return { body: object.Body.transformToWebStream() as ReadableStream<Uint8Array>, length: object.ContentLength ?? 0 };
  }

  async presign(location: string, options: { method: 'GET' | 'HEAD'; expiresInSeconds: number; digest: string }): Promise<string> {
    const target = { Bucket: this.bucket, Key: checkLocation(location) };
    const { s3, sdk } = await this.s3();
    const command = options.method === 'GET' ? new sdk.GetObjectCommand(target) : new sdk.HeadObjectCommand(target);
    // Only the host is signed, so clients may add a Range header to the URL.
    return sdk.getSignedUrl(s3, command, { expiresIn: options.expiresInSeconds });
  }

  async delete(location: string): Promise<void> {
    await guarded('S3 DeleteObject', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: checkLocation(location) }))));
  }

  private async objectSize(key: string): Promise<number | undefined> {
    try {
      const head = await guarded('S3 HeadObject', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }))));
      return head.ContentLength;
    } catch (error) {
      if (error instanceof StoreNotFoundError) return undefined;
      throw error;
    }
  }

  /** Staged tails the core no longer references (folded into parts) go with the upload. */
  private async deleteAllStaged(uploadId: string): Promise<void> {
    const prefix = objectKeys.stagingPrefix(uploadId);
    this.recentTails.forgetUnder(prefix);
    let token: string | undefined;
    do {
      const page = await guarded('S3 ListObjectsV2 (staged tails)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}),
      }))));
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await guarded('S3 DeleteObjects (staged tails)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectsCommand({
          Bucket: this.bucket, Delete: { Objects: keys, Quiet: true },
        }))));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

/**
 * Parts sent by clients through presigned UploadPart URLs. These uploads carry no per-part
 * checksums (a client cannot know what to sign in advance); the registry verifies the
 * whole blob's SHA-256 before it becomes visible instead.
 */
function directUploads(s3: S3Access, presigner: S3Access, bucket: string, preferredPartSize: number): DirectPartUploads {
  return {
    minPartSize: S3_MIN_PART_SIZE,
    maxParts: S3_MAX_PARTS,
    preferredPartSize,
    async createUpload(id) {
      const key = objectKeys.blob(id);
      const created = await guarded('S3 CreateMultipartUpload (direct)', () => s3().then(({ s3: client, sdk }) => client.send(new sdk.CreateMultipartUploadCommand({
        Bucket: bucket, Key: key, ContentType: 'application/octet-stream', CacheControl: IMMUTABLE,
      }))));
      if (!created.UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
      return JSON.stringify({ key, uploadId: created.UploadId } satisfies UploadHandle);
    },
    async presignPart(upload, partNumber, expiresInSeconds) {
      if (partNumber < 1 || partNumber > S3_MAX_PARTS) throw new RangeError(`S3 part numbers run from 1 to ${S3_MAX_PARTS}, not ${partNumber}`);
      const { key, uploadId } = parseHandle(upload);
      const { s3: client, sdk } = await presigner();
      return sdk.getSignedUrl(client, new sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }), { expiresIn: expiresInSeconds });
    },
  };
}

function parseHandle(upload: UploadRef): UploadHandle {
  try {
    const parsed = JSON.parse(upload.handle) as Partial<UploadHandle>;
    if (typeof parsed.key === 'string' && typeof parsed.uploadId === 'string' && objectKeys.isBlob(parsed.key)) {
      return { key: parsed.key, uploadId: parsed.uploadId };
    }
  } catch {
    // fall through
  }
  throw new Error(`upload ${upload.id} has no S3 multipart handle`);
}

function splitEtag(part: PartRecord): { ETag: string; ChecksumCRC32?: string } {
  const space = part.etag.lastIndexOf(' ');
  return space < 0 ? { ETag: part.etag } : { ETag: part.etag.slice(0, space), ChecksumCRC32: part.etag.slice(space + 1) };
}

function describeSizes(parts: PartRecord[]): string {
  const shown = parts.length > 6 ? [...parts.slice(0, 3), ...parts.slice(-3)] : parts;
  return shown.map((part) => `#${part.number}=${part.size}`).join(' ');
}

function checkLocation(location: string): string {
  if (!objectKeys.isBlob(location)) throw new Error(`not a blob location: ${location.slice(0, 140)}`);
  return location;
}
