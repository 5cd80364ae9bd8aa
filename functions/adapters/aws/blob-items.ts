import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BlobRecord } from '../../core/index';
import { StoreConflictError, StoreReferenceMissingError } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { retryOnConflict } from './dynamo-helpers';
import { GC_TOKEN, LINKED_AT, reviewAction, TOUCHED_AT } from './gc-reviews';
import { REFS } from './reference-records';
import { PARTITION_KEY } from './table-schema';
import { transactConditions } from './transactions';


/**
 * Blob records and links (keys in data-layout.ts, reasoning G1–G6 in gc-collector.ts),
 * written so that garbage collection can delete a blob atomically with respect to them:
 * - creating a record queues a review in the same transaction;
 * - linking "rescues" the record: it removes a collector's mark (`gcToken`) and stamps the
 *   link, in one transaction conditioned on the record existing, so a collector whose final
 *   delete is conditioned on its mark loses; a record that a collector already deleted leaves
 *   a tombstone, and linking it throws StoreReferenceMissingError instead of leaving a link
 *   to nothing (the caller stores the bytes again);
 * - unlinking queues a review in the same transaction.
 */
export class BlobItems {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly now: () => number = Date.now) {}

  async get(digest: string): Promise<BlobRecord | undefined> {
    const item = await this.read(itemKeys.blob(digest), 'blob');
    return item && { digest: item.digest as string, size: item.size as number, location: item.location as string, createdAt: item.createdAt as number };
  }

  async put(record: BlobRecord): Promise<{ record: BlobRecord; created: boolean }> {
    return retryOnConflict(async () => {
      const at = this.now();
      const failed = await transactConditions(this.doc, 'put blob', [
        {
          Put: {
            TableName: this.table, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY },
            Item: { ...itemKeys.blob(record.digest), digest: record.digest, size: record.size, location: record.location, createdAt: record.createdAt },
          },
        },
        // A tombstone of an earlier collection may stay: it only matters while there is no record.
        reviewAction(this.table, { kind: 'blob', digest: record.digest, at }),
      ]);
      if (failed.length === 0) return { record, created: true };
      const existing = await this.get(record.digest);
      // Deleted again between our write and this read: try again.
      if (!existing) throw new StoreConflictError(`blob ${record.digest} was created and deleted concurrently`);
      return { record: existing, created: false };
    });
  }

  /**
   * Links the blob into the repository, keeping the count of manifests that use it, and
   * takes the record back from a collector that marked it. A blob with no record links as
   * before (nothing to collect), unless a collector deleted it moments ago (tombstone).
   */
  async link(repository: string, digest: string): Promise<void> {
    await retryOnConflict(async () => {
      const at = this.now();
      const linkUpdate = {
        Update: {
          TableName: this.table, Key: itemKeys.blobLink(digest, repository),
          UpdateExpression: 'SET #at = :now ADD #refs :zero',
          ExpressionAttributeNames: { '#at': LINKED_AT, '#refs': REFS }, ExpressionAttributeValues: { ':now': at, ':zero': 0 },
        },
      };
      const rescued = await transactConditions(this.doc, 'link blob', [{
        Update: {
          TableName: this.table, Key: itemKeys.blob(digest),
          UpdateExpression: 'SET #touched = :now REMOVE #token', ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#touched': TOUCHED_AT, '#token': GC_TOKEN, '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':now': at },
        },
      }, linkUpdate]);
      if (rescued.length === 0) return;
      const unrecorded = await transactConditions(this.doc, 'link unrecorded blob', [{
        ConditionCheck: {
          TableName: this.table, Key: itemKeys.blobTombstone(digest),
          ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        },
      }, {
        ConditionCheck: {
          TableName: this.table, Key: itemKeys.blob(digest),
          ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        },
      }, linkUpdate]);
      if (unrecorded.includes(0)) throw new StoreReferenceMissingError('blob', digest);
      if (unrecorded.length > 0) throw new StoreConflictError(`blob ${digest} was stored while it was linked`);
    });
  }

  /**
   * Deletes the link only while no manifest counts it, queuing a review with it. Returns
   * 'absent' when there was no link, 'in use' while a manifest counts it.
   */
  async unlink(repository: string, digest: string): Promise<'unlinked' | 'absent' | 'in use'> {
    return retryOnConflict(async () => {
      const at = this.now();
      // The record notes the unlink too: the safety window counts from it, not from the push.
      const recorded = (await this.read(itemKeys.blob(digest), 'blob')) !== undefined;
      const failed = await transactConditions(this.doc, 'unlink blob', [{
        Delete: {
          TableName: this.table, Key: itemKeys.blobLink(digest, repository),
          ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#refs) OR #refs <= :zero)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#refs': REFS }, ExpressionAttributeValues: { ':zero': 0 },
        },
      }, reviewAction(this.table, { kind: 'blob', digest, at }), ...(recorded ? [{
        Update: {
          TableName: this.table, Key: itemKeys.blob(digest), UpdateExpression: 'SET #touched = :now', ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#touched': TOUCHED_AT, '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':now': at },
        },
      }] : [])]);
      if (failed.length === 0) return 'unlinked';
      if (failed.includes(2)) throw new StoreConflictError(`blob ${digest} was collected while it was unlinked`);
      const link = await this.read(itemKeys.blobLink(digest, repository), 'blob link');
      if (!link) return 'absent';
      if (((link[REFS] as number | undefined) ?? 0) > 0) return 'in use';
      throw new StoreConflictError(`link of ${digest} in ${repository} changed while it was unlinked`);
    });
  }

  private async read(key: Record<string, string>, what: string): Promise<Record<string, unknown> | undefined> {
    const result = await guarded(`DynamoDB GetItem (${what})`, () => this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })));
    return result.Item;
  }
}
