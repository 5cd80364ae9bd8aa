import { randomBytes } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunked, StoreConflictError } from '../../core/index';
import type { BlobVerdict } from '../../core/gc/ports';
import { guarded, isAwsError, toStoreError } from './aws-errors';
import { itemKeys, objectKeys } from './data-layout';
import { queryAll } from './dynamo-helpers';
import { GC_TOKEN, LINKED_AT, RELEASED_AT, TOUCHED_AT } from './gc-reviews';
import { REFS, ReferenceRecords } from './reference-records';
import type { S3Access } from './s3-access';
import { batchGet, itemId } from './batch-get';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema';
import { transactConditions, type TransactItem } from './transactions';

/**
 * How long after its creation a record that no repository links yet counts as busy: its
 * upload is still completing (the core links right after storing the record), and no
 * request runs longer than a Lambda's 15 minutes.
 */
export const COMPLETING_MS = 15 * 60 * 1000;
/** How long a tombstone of a collected blob refuses links to the digest (seconds). */
const TOMBSTONE_SECONDS = 2 * 86_400;
/** Links deleted per transaction, besides the record, its tombstone or a check of the mark. */
const LINKS_PER_TRANSACTION = 97;

type Item = Record<string, unknown>;

/**
 * Decides and collects garbage blobs (items: data-layout.ts; the argument below): mark the
 * record, re-read its partition, then delete record and links in one transaction conditioned on the mark and on every link being unreferenced and untouched
 * since the cutoff, leave a tombstone, and only then delete the bytes. Linking the blob
 * removes the mark (blob-items.ts), so a racing push makes the final transaction fail.
 *
 * Garbage collection: why a push racing the collector never loses a blob
 *   G1 Bytes are deleted only after the record, and the record only by the collector's final
 *   transaction, conditioned on its own mark. Every link removes the mark in a transaction that
 *   also needs the record to exist, so a link that commits before the final transaction makes it
 *   fail, and one that comes after finds no record.
 *   G2 The final transaction deletes the record together with every link, each conditioned on no
 *   manifest counting it (refs 0) and on its times; links made before the mark are seen by the
 *   Query after the mark, links made after it removed the mark. So a link never outlives its
 *   record, and a manifest, which counts its blobs on their links (conditioned on the link
 *   existing), never references a collected blob: a count that commits first fails the final
 *   transaction, and one that comes after finds no link.
 *   G3 A link whose record is gone is refused while the tombstone lives (2 days, far longer than a
 *   request): the caller, an upload completing or the verifier, then stores its own bytes (it
 *   drops them only after its link succeeded); a mount falls back to an upload. A blob with no
 *   record and no tombstone (never stored) links as before.
 *   G4 An upload's own record is busy while no repository links it yet and it is younger than a
 *   request can run (15 min), so the collector never takes it between putBlob and link.
 *   G5 S3 locations are per upload id (blobs/<upload-id>): bytes stored again never share the
 *   object being deleted. Reviews are written with or before the change that causes them, so a
 *   crash leaves an extra review, never a missing one; a review stays queued while its blob is
 *   recent or busy, and is settled once the blob is garbage, referenced or absent.
 *   G6 The orphan sweep reads sessions before it scans records: an upload writes its record while
 *   its session exists, so an object whose session is gone already has any record it will get.
 */
export class BlobCollector {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly s3: S3Access,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {
    this.references = new ReferenceRecords(doc, table, undefined, now);
  }

  private readonly references: ReferenceRecords;

  async inspect(digest: string, cutoff: number): Promise<BlobVerdict> {
    const record = await this.record(digest);
    if (!record) return { state: 'absent' };
    return this.judge(record, await this.partition(digest), cutoff);
  }

  async collect(digest: string, cutoff: number): Promise<BlobVerdict> {
    const record = await this.record(digest);
    if (!record) return { state: 'absent' };
    let seen = await this.partition(digest);
    // References a crashed request left behind go first; the release stamps the link, so the blob
    // is 'recent' now and its review stays for a pass after the window.
    if (await this.releaseLeaks(seen)) seen = await this.partition(digest);
    const before = this.judge(record, seen, cutoff);
    if (before.state !== 'garbage') return before;
    const token = await this.mark(digest, record);
    if (!token) return this.afterLostRace(digest, cutoff);
    // Links made before the mark are seen now; after it, linking removes the mark.
    const items = await this.partition(digest);
    const verdict = this.judge(record, items, cutoff);
    if (verdict.state !== 'garbage') {
      await this.unmark(digest, token);
      return verdict;
    }
    const links = items.filter((item) => (item[SORT_KEY] as string).startsWith(itemKeys.blobLinkPrefix));
    if (!(await this.deleteItems(digest, token, links, cutoff))) {
      await this.unmark(digest, token);
      return this.afterLostRace(digest, cutoff);
    }
    await guarded('S3 DeleteObject (collected blob)', () => this.s3().then(({ s3, sdk }) => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: record.location as string }))));
    return verdict;
  }

  /** The verdict on a record and the rest of its partition (links, references). */
  private judge(record: Item, items: Item[], cutoff: number): BlobVerdict {
    const links = items.filter((item) => (item[SORT_KEY] as string).startsWith(itemKeys.blobLinkPrefix));
    const referenced = items.some((item) => (item[SORT_KEY] as string).startsWith('REF#'))
      || links.some((link) => ((link[REFS] as number | undefined) ?? 0) > 0);
    if (referenced) return { state: 'referenced' };
    const times = [record.createdAt, record[TOUCHED_AT], ...links.flatMap((link) => [link[LINKED_AT], link[RELEASED_AT]])];
    if (times.some((time) => typeof time === 'number' && time > cutoff)) return { state: 'recent' };
    if (links.length === 0 && (record.createdAt as number) > this.now() - COMPLETING_MS) return { state: 'busy' };
    if (!objectKeys.isBlob(record.location as string)) return { state: 'busy' }; // not ours to delete: leave it
    return { state: 'garbage', size: record.size as number };
  }

  /** Marks the record with a fresh token, if it is unchanged since read (taking over an older mark). */
  private async mark(digest: string, record: Item): Promise<string | undefined> {
    const token = randomBytes(8).toString('hex');
    const seen = record[GC_TOKEN] as string | undefined;
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: itemKeys.blob(digest), UpdateExpression: 'SET #token = :token',
        ConditionExpression: `#location = :location AND ${seen === undefined ? 'attribute_not_exists(#token)' : '#token = :seen'}`,
        ExpressionAttributeNames: { '#token': GC_TOKEN, '#location': 'location' },
        ExpressionAttributeValues: { ':token': token, ':location': record.location, ...(seen === undefined ? {} : { ':seen': seen }) },
      }));
      return token;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return undefined;
      throw toStoreError(error, 'DynamoDB UpdateItem (mark blob)');
    }
  }

  /** Removes our mark, if it is still ours (a link may have removed it already). */
  private async unmark(digest: string, token: string): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: itemKeys.blob(digest), UpdateExpression: 'REMOVE #token', ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#token': GC_TOKEN }, ExpressionAttributeValues: { ':token': token },
      }));
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw toStoreError(error, 'DynamoDB UpdateItem (unmark blob)');
    }
  }

  /**
   * Deletes the links and the record while the mark holds and every link is unused and
   * untouched since the cutoff, leaving a tombstone. Returns false when a condition failed.
   */
  private async deleteItems(digest: string, token: string, links: Item[], cutoff: number): Promise<boolean> {
    const markHeld = { TableName: this.table, Key: itemKeys.blob(digest), ConditionExpression: '#token = :token', ExpressionAttributeNames: { '#token': GC_TOKEN }, ExpressionAttributeValues: { ':token': token } };
    const linkDeletes: TransactItem[] = links.map((link) => ({
      Delete: {
        TableName: this.table, Key: { [PARTITION_KEY]: link[PARTITION_KEY] as string, [SORT_KEY]: link[SORT_KEY] as string },
        ConditionExpression: '(attribute_not_exists(#refs) OR #refs <= :zero) AND (attribute_not_exists(#at) OR #at <= :cutoff) AND (attribute_not_exists(#released) OR #released <= :cutoff)',
        ExpressionAttributeNames: { '#refs': REFS, '#at': LINKED_AT, '#released': RELEASED_AT }, ExpressionAttributeValues: { ':zero': 0, ':cutoff': cutoff },
      },
    }));
    const batches = chunked(linkDeletes, LINKS_PER_TRANSACTION);
    const last = batches.pop() ?? [];
    // A blob linked into more repositories than one transaction holds: the extra links go first, each batch while the mark holds.
    for (const batch of batches) {
      if ((await this.attempt('collect blob links', [{ ConditionCheck: markHeld }, ...batch])).length > 0) return false;
    }
    const tombstone = { ...itemKeys.blobTombstone(digest), at: this.now(), [TTL_ATTRIBUTE]: Math.floor(this.now() / 1000) + TOMBSTONE_SECONDS };
    const failed = await this.attempt('collect blob', [{ Delete: markHeld }, { Put: { TableName: this.table, Item: tombstone } }, ...last]);
    return failed.length === 0;
  }

  /**
   * Releases reference items older than any request runs whose holder is not stored with their
   * generation (a Lambda died between the transactions of a large put or delete: data-layout.ts).
   * Returns whether it released any.
   */
  private async releaseLeaks(items: Item[]): Promise<boolean> {
    const cutoff = this.now() - COMPLETING_MS;
    const stale = items.flatMap((item) => {
      const [kind, repository, holder, generation] = (item[SORT_KEY] as string).split('#');
      const digest = (item[PARTITION_KEY] as string).slice('BLOB#'.length);
      if (kind !== 'REF' || !repository || !holder || !generation || typeof item.at !== 'number' || item.at > cutoff) return [];
      return [{ repository, holder, generation, digest }];
    });
    if (stale.length === 0) return false;
    const stored = await batchGet(this.doc, this.table, stale.map((ref) => itemKeys.manifest(ref.repository, ref.holder)), ['generation'], 'DynamoDB BatchGetItem (reference holders)');
    const leaked = stale.filter((ref) => stored.get(itemId(itemKeys.manifest(ref.repository, ref.holder)))?.generation !== ref.generation);
    for (const ref of leaked) {
      // Conditioned on the reference still being there: a late release of the same generation wins or loses whole.
      await this.attempt('release leaked reference', this.references.releaseActions(ref.repository, ref.holder, ref.generation, { kind: 'blob', digest: ref.digest }));
    }
    return leaked.length > 0;
  }

  /** A transaction whose failure for any race reason counts as a failed condition. */
  private async attempt(what: string, actions: TransactItem[]): Promise<number[]> {
    try {
      return await transactConditions(this.doc, what, actions);
    } catch (error) {
      if (error instanceof StoreConflictError) return [-1];
      throw error;
    }
  }

  /** A push or another collector got in the way: whatever holds now, but never garbage (the review stays). */
  private async afterLostRace(digest: string, cutoff: number): Promise<BlobVerdict> {
    const now = await this.inspect(digest, cutoff);
    return now.state === 'garbage' ? { state: 'busy' } : now;
  }

  private async record(digest: string): Promise<Item | undefined> {
    const result = await guarded('DynamoDB GetItem (blob)', () => this.doc.send(new GetCommand({ TableName: this.table, Key: itemKeys.blob(digest), ConsistentRead: true })));
    return result.Item;
  }

  /** Links and references of the blob (its partition, without the record). */
  private async partition(digest: string): Promise<Item[]> {
    const items = await queryAll(this.doc, this.table, itemKeys.blobLinksPartition(digest), undefined, 'DynamoDB Query (blob partition)');
    return items.filter((item) => item[SORT_KEY] !== 'BLOB' && item[SORT_KEY] !== itemKeys.blobTombstone(digest)[SORT_KEY]);
  }
}
