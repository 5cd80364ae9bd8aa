import { RegistryError, StoreNotFoundError, type ManifestRecord } from '../../core/index';
import { guarded } from './aws-errors';
import { objectKeys } from './data-layout';
import { s3Access, type S3Access, type S3Source } from './s3-access';

/** DynamoDB items hold at most 400 KB; this leaves room for keys and the other attributes. */
const INLINE_BODY_BUDGET = 350_000;
/** Everything but the body must fit in an item, with room to spare. */
const METADATA_BUDGET = 300_000;

/** Where a manifest's bytes live: inline in its item, or in S3 when too large for one. */
export type StoredBody = { body: Uint8Array; bodyKey?: undefined } | { body?: undefined; bodyKey: string };

/**
 * Manifest bodies, which may reach 4 MiB while a DynamoDB item holds 400 KB: small ones
 * (nearly all) stay inline, large ones go to S3 under manifests/ before the item that
 * points to them is written. The key carries the generation of the item that will point to
 * it, so deleting one generation's object never removes the body of a concurrent re-push.
 */
export class ManifestBodies {
  private readonly s3: S3Access;

  constructor(s3: S3Source, private readonly bucket: string) {
    this.s3 = s3Access(s3);
  }

  async store(repository: string, manifest: ManifestRecord, generation: string): Promise<StoredBody> {
    const metadataSize = approximateSize({ ...manifest, body: undefined });
    if (metadataSize > METADATA_BUDGET) {
      throw new RegistryError('MANIFEST_INVALID', `manifest annotations take ${metadataSize} bytes; this registry indexes at most ${METADATA_BUDGET}`, {
        detail: { digest: manifest.digest },
      });
    }
    if (manifest.body.byteLength + metadataSize <= INLINE_BODY_BUDGET) return { body: manifest.body };
    const bodyKey = objectKeys.manifestBody(repository, manifest.digest, generation);
    await guarded('S3 PutObject (manifest body)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.PutObjectCommand({
      Bucket: this.bucket, Key: bodyKey, Body: manifest.body, ContentLength: manifest.body.byteLength, ChecksumAlgorithm: 'CRC32',
    }))));
    return { bodyKey };
  }

  /** The body, or undefined when its object is gone (a delete raced a re-push). */
  async load(stored: StoredBody): Promise<Uint8Array | undefined> {
    if (stored.body) return stored.body;
    try {
      const object = await guarded('S3 GetObject (manifest body)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: stored.bodyKey }))));
      return object.Body ? await object.Body.transformToByteArray() : undefined;
    } catch (error) {
      if (error instanceof StoreNotFoundError) return undefined;
      throw error;
    }
  }

  async remove(stored: StoredBody): Promise<void> {
    if (!stored.bodyKey) return;
    await guarded('S3 DeleteObject (manifest body)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: stored.bodyKey }))));
  }
}

function approximateSize(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).byteLength;
}

/** Where a manifest item keeps its body: inline, or the key of its S3 object. */
export function storedBodyOf(item: Record<string, unknown>): StoredBody {
  return item.bodyKey !== undefined ? { bodyKey: item.bodyKey as string } : { body: item.body as Uint8Array };
}
