import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BlobVerdict, GcReview, GcStore, Paged } from '../../core/gc/ports';
import { guarded } from './aws-errors';
import { BlobCollector } from './gc-collector';
import { dueReviews, settleReview } from './gc-reviews';
import { GcSweeps } from './gc-sweeps';
import { s3Access, type S3Source } from './s3-access';
import { PARTITION_KEY, SORT_KEY } from './table-schema';

export interface DynamoGcStoreOptions {
  readonly table: string;
  readonly bucket: string;
  /** Epoch ms; tests move it to age what S3 dates. @default Date.now */
  readonly now?: () => number;
}

/**
 * Garbage collection over DynamoDB and S3 (the GcStore port; layout, protocol and argument
 * in data-layout.ts). The review queue lives in the table (gc-reviews.ts); blobs are
 * collected by gc-collector.ts; abandoned uploads and orphaned objects by gc-sweeps.ts.
 */
export class DynamoGcStore implements GcStore {
  private readonly table: string;
  private readonly collector: BlobCollector;
  private readonly sweeps: GcSweeps;

  constructor(private readonly doc: DynamoDBDocumentClient, source: S3Source, options: DynamoGcStoreOptions) {
    const now = options.now ?? Date.now;
    const s3 = s3Access(source);
    this.table = options.table;
    this.collector = new BlobCollector(doc, options.table, s3, options.bucket, now);
    this.sweeps = new GcSweeps(doc, options.table, s3, options.bucket, now);
  }

  dueReviews(cutoff: number, limit: number, after?: string): Promise<Paged<GcReview>> {
    return dueReviews(this.doc, this.table, cutoff, limit, after);
  }

  settleReview(review: GcReview): Promise<void> {
    return settleReview(this.doc, this.table, review);
  }

  /** Every blob record, by a Scan (full passes only); the cursor is the last record's key. */
  async listBlobs(limit: number, after?: string): Promise<Paged<string>> {
    const digests: string[] = [];
    let start: Record<string, unknown> | undefined = after === undefined ? undefined : { [PARTITION_KEY]: after, [SORT_KEY]: 'BLOB' };
    let last: string | undefined;
    do {
      const page = await guarded('DynamoDB Scan (blob records)', () => this.doc.send(new ScanCommand({
        TableName: this.table, FilterExpression: '#sk = :blob', ProjectionExpression: '#pk, digest',
        ExpressionAttributeNames: { '#sk': SORT_KEY, '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':blob': 'BLOB' },
        Limit: Math.max(100, limit), ...(start ? { ExclusiveStartKey: start } : {}),
      })));
      for (const item of page.Items ?? []) {
        if (digests.length >= limit) return { items: digests, next: last! };
        digests.push(item.digest as string);
        last = item[PARTITION_KEY] as string;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { items: digests };
  }

  inspectBlob(digest: string, cutoff: number): Promise<BlobVerdict> {
    return this.collector.inspect(digest, cutoff);
  }

  collectBlob(digest: string, cutoff: number): Promise<BlobVerdict> {
    return this.collector.collect(digest, cutoff);
  }

  sweepUploads(cutoff: number, dryRun: boolean, full: boolean): Promise<{ uploads: number; bytes: number }> {
    return this.sweeps.sweepUploads(cutoff, dryRun, full);
  }

  sweepOrphans(cutoff: number, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
    return this.sweeps.sweepOrphans(cutoff, dryRun);
  }
}
