import { DeleteCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunked, StoreNotFoundError } from '../../core/index';
import { guarded, isAwsError, toStoreError } from './aws-errors';
import { batchGet, itemId } from './batch-get';
import { itemKeys, objectKeys } from './data-layout';
import type { S3Access } from './s3-access';
import { COMPLETING_MS } from './gc-collector';
import { BUCKET_PREFIXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema';

type Item = Record<string, unknown>;
interface Listed { key: string; id: string; modified: number; size: number }

/**
 * What garbage collection sweeps besides blobs (argument G1–G6 in gc-collector.ts): abandoned
 * uploads (found from S3's in-progress multipart uploads and staged tails, so the cost
 * follows the uploads in flight, not the table) and, on full passes, orphaned blob objects.
 */
export class GcSweeps {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly s3: S3Access,
    private readonly bucket: string,
    private readonly now: () => number,
  ) {}

  /**
   * Sessions past their expiry that are idle since before the cutoff (DynamoDB's TTL deletes
   * them lazily, and never what they hold), with their multipart uploads and staged tails;
   * and multipart uploads or staged tails with no session at all, older than the cutoff and
   * than a request can run (the core opens the S3 upload before it writes the session).
   * Incremental passes find expired sessions through their multipart uploads and staged tails
   * (a cost that follows open uploads); only full passes Scan the table for expired session
   * items, which then hold nothing that costs storage (and which the table's TTL removes anyway).
   */
  async sweepUploads(cutoff: number, dryRun: boolean, full: boolean): Promise<{ uploads: number; bytes: number }> {
    const now = this.now();
    const settled = (modified: number) => modified <= Math.min(cutoff, now - COMPLETING_MS);
    const allMultipart = await this.multipartUploads();
    const allStaged = await this.objects(BUCKET_PREFIXES.staging);
    const holders = [...new Set([...allMultipart.map((upload) => upload.id), ...allStaged.map((object) => object.id)])];
    const found = await this.sessions(holders);
    const expired = full
      ? await this.expiredSessions(now, cutoff)
      : new Map([...found].filter(([, session]) => isExpired(session, now, cutoff)));
    // Without a session: only what is older than the cutoff and than a request can run.
    const multipart = allMultipart.filter((upload) => !found.has(upload.id) && settled(upload.modified));
    const staged = allStaged.filter((object) => !found.has(object.id) && settled(object.modified));
    const sessionless = new Set([...multipart.map((upload) => upload.id), ...staged.map((object) => object.id)].filter((id) => !expired.has(id)));
    const uploads = expired.size + sessionless.size;
    const bytes = [...expired.values()].reduce((sum, session) => sum + ((session.offset as number | undefined) ?? 0), 0)
      + staged.filter((object) => sessionless.has(object.id)).reduce((sum, object) => sum + object.size, 0);
    if (dryRun) return { uploads, bytes };
    for (const [id, session] of expired) {
      await this.abort(handleOf(session));
      await this.deleteObjects((await this.objects(objectKeys.stagingPrefix(id))).map((object) => object.key));
      // Only the version judged expired: a session is never extended once expired, but be exact.
      await this.doc.send(new DeleteCommand({
        TableName: this.table, Key: itemKeys.upload(id), ConditionExpression: '#version = :version',
        ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': session.version },
      })).catch((error: unknown) => {
        if (!isAwsError(error, 'ConditionalCheckFailedException')) throw toStoreError(error, 'DynamoDB DeleteItem (expired session)');
      });
    }
    for (const upload of multipart.filter((entry) => sessionless.has(entry.id))) await this.abort(upload);
    await this.deleteObjects(staged.filter((object) => sessionless.has(object.id)).map((object) => object.key));
    return { uploads, bytes };
  }

  /**
   * Objects under blobs/ that neither a blob record nor an upload session points to, older
   * than the cutoff. Sessions are read before the records are scanned: an upload writes its
   * record while its session exists, so an object whose session is gone already has any
   * record it will ever get by the time the scan starts, and the scan sees it.
   */
  async sweepOrphans(cutoff: number, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
    const old = (await this.objects(BUCKET_PREFIXES.blobs)).filter((object) => object.modified <= cutoff);
    const sessions = await this.sessions(old.map((object) => object.id));
    const unsessioned = old.filter((object) => !sessions.has(object.id));
    if (unsessioned.length === 0) return { objects: 0, bytes: 0 };
    const locations = await this.blobLocations();
    const orphans = unsessioned.filter((object) => !locations.has(object.key));
    const bytes = orphans.reduce((sum, object) => sum + object.size, 0);
    if (!dryRun) await this.deleteObjects(orphans.map((object) => object.key));
    return { objects: orphans.length, bytes };
  }

  /** Expired sessions idle since before the cutoff, by id: one Scan of the table, filtered (full passes). */
  private async expiredSessions(now: number, cutoff: number): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await guarded('DynamoDB Scan (expired upload sessions)', () => this.doc.send(new ScanCommand({
        TableName: this.table,
        FilterExpression: 'begins_with(#pk, :upload) AND #expires <= :now AND #updated <= :cutoff',
        ProjectionExpression: 'id, handle, version, #offset',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#expires': TTL_ATTRIBUTE, '#updated': 'updatedAt', '#offset': 'offset' },
        ExpressionAttributeValues: { ':upload': 'UPLOAD#', ':now': Math.floor(now / 1000), ':cutoff': cutoff },
        ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}),
      })));
      for (const item of page.Items ?? []) found.set(item.id as string, item);
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  private async abort(upload: { key: string; uploadId: string } | undefined): Promise<void> {
    if (!upload) return;
    await guarded('S3 AbortMultipartUpload (abandoned)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.AbortMultipartUploadCommand({
      Bucket: this.bucket, Key: upload.key, UploadId: upload.uploadId,
    })))).catch((error: unknown) => {
      if (!(error instanceof StoreNotFoundError)) throw error;
    });
  }

  private async sessions(ids: string[]): Promise<Map<string, Item>> {
    const found = await batchGet(this.doc, this.table, ids.map((id) => itemKeys.upload(id)),
      ['id', 'handle', 'version', 'offset', 'updatedAt', TTL_ATTRIBUTE], 'DynamoDB BatchGetItem (upload sessions)');
    const byId = new Map<string, Item>();
    for (const id of ids) {
      const item = found.get(itemId(itemKeys.upload(id)));
      if (item) byId.set(id, item);
    }
    return byId;
  }

  /** Every blob record's location (a full pass: one Scan of the table). */
  private async blobLocations(): Promise<Set<string>> {
    const locations = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await guarded('DynamoDB Scan (blob records)', () => this.doc.send(new ScanCommand({
        TableName: this.table, FilterExpression: '#sk = :blob', ProjectionExpression: '#location',
        ExpressionAttributeNames: { '#sk': SORT_KEY, '#location': 'location' }, ExpressionAttributeValues: { ':blob': 'BLOB' },
        ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}),
      })));
      for (const item of page.Items ?? []) locations.add(item.location as string);
      start = page.LastEvaluatedKey;
    } while (start);
    return locations;
  }

  private async multipartUploads(): Promise<Array<Listed & { uploadId: string }>> {
    const uploads: Array<Listed & { uploadId: string }> = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await guarded('S3 ListMultipartUploads', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.ListMultipartUploadsCommand({
        Bucket: this.bucket, Prefix: BUCKET_PREFIXES.blobs, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: idMarker } : {}),
      }))));
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !objectKeys.isBlob(upload.Key)) continue;
        uploads.push({ key: upload.Key, uploadId: upload.UploadId, id: upload.Key.slice(BUCKET_PREFIXES.blobs.length), modified: upload.Initiated?.getTime() ?? 0, size: 0 });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      idMarker = page.NextUploadIdMarker;
    } while (keyMarker);
    return uploads;
  }

  /** Objects under a prefix; `id` is the upload id the key belongs to. */
  private async objects(prefix: string): Promise<Listed[]> {
    const listed: Listed[] = [];
    let token: string | undefined;
    do {
      const page = await guarded(`S3 ListObjectsV2 (${prefix})`, () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.ListObjectsV2Command({
        Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}),
      }))));
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        const id = object.Key.slice(prefix.length).split('/')[0]!;
        if (!/^[A-Za-z0-9._-]{1,128}$/.test(id) || id.startsWith('.')) continue;
        listed.push({ key: object.Key, id, modified: object.LastModified?.getTime() ?? 0, size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return listed;
  }

  private async deleteObjects(keys: string[]): Promise<void> {
    for (const batch of chunked(keys, 1000)) {
      await guarded('S3 DeleteObjects (gc)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectsCommand({
        Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }))));
    }
  }
}

/** The multipart upload a session holds (S3BlobStore's handle), if it has one. */
function handleOf(session: Item): { key: string; uploadId: string } | undefined {
  try {
    const parsed = JSON.parse(session.handle as string) as { key?: unknown; uploadId?: unknown };
    if (typeof parsed.key === 'string' && typeof parsed.uploadId === 'string' && objectKeys.isBlob(parsed.key)) return { key: parsed.key, uploadId: parsed.uploadId };
  } catch {
    // not an S3 handle
  }
  return undefined;
}

/** The Scan's filter, for a session read by key: past its expiry, and idle since before the cutoff. */
function isExpired(session: Item, now: number, cutoff: number): boolean {
  return (session[TTL_ATTRIBUTE] as number) <= Math.floor(now / 1000) && (session.updatedAt as number) <= cutoff;
}
