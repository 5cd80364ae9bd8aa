import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { forEachLimited } from '../../core/index';
import type { GcReview, Paged } from '../../core/gc/ports';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { PARTITION_KEY, SORT_KEY } from './table-schema';
import type { TransactItem } from './transactions';

/**
 * The garbage-collection review queue (layout: data-layout.ts). A review is one item,
 * written in (or before) the write that may have made a blob garbage, so a crash leaves at
 * worst an extra review, never a missing one. The queue is spread over 16 partitions by the
 * first hex digit of the digest, so a burst of deletes is not one hot partition; sort keys
 * start with the zero-padded time, so each shard is read oldest first with one Query.
 */
export const REVIEW_SHARDS = '0123456789abcdef'.split('');
/** Partition key prefix of the queue's shards. */
export const REVIEW_PARTITION_PREFIX = itemKeys.gcReviewPrefix;
const TIME_DIGITS = 15;
/** Review writes in flight at once (one PutItem each). */
const WRITE_CONCURRENCY = 8;

/** Attributes of blob records and links that garbage collection reads (gc-collector.ts). */
/** On a blob record: the mark of a collector about to delete it. */
export const GC_TOKEN = 'gcToken';
/** On a blob record: when it was last linked. */
export const TOUCHED_AT = 'touchedAt';
/** On a blob link: when it was last linked (or mounted). */
export const LINKED_AT = 'at';
/** On a blob link: when a manifest last released its reference. */
export const RELEASED_AT = 'releasedAt';

export type ReviewKind = GcReview['kind'];
export interface NewReview { kind: ReviewKind; digest: string; repository?: string; at: number }

export function reviewShard(digest: string): string {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 2).toLowerCase();
  return REVIEW_SHARDS.includes(hex) ? hex : '0';
}

export function reviewKey(review: NewReview): Record<string, string> {
  const time = String(Math.max(0, Math.floor(review.at))).padStart(TIME_DIGITS, '0');
  const sk = [time, review.kind, review.digest, ...(review.repository === undefined ? [] : [review.repository])].join('#');
  return { [PARTITION_KEY]: `${REVIEW_PARTITION_PREFIX}${reviewShard(review.digest)}`, [SORT_KEY]: sk };
}

function reviewItem(review: NewReview): Record<string, unknown> {
  return { ...reviewKey(review), kind: review.kind, digest: review.digest, repository: review.repository, at: review.at };
}

/** The Put of a review, for a transaction that also makes the change it reviews. */
export function reviewAction(table: string, review: NewReview): TransactItem {
  return { Put: { TableName: table, Item: reviewItem(review) } };
}

/** Queues reviews on their own, before the change they review. */
export async function queueReviews(doc: DynamoDBDocumentClient, table: string, reviews: NewReview[]): Promise<void> {
  await forEachLimited(reviews, WRITE_CONCURRENCY, async (review) => {
    await guarded('DynamoDB PutItem (gc review)', () => doc.send(new PutCommand({ TableName: table, Item: reviewItem(review) })));
  });
}

/** The reviews of blob targets, and nothing for index children (they are manifests, not bytes). */
export function blobReviews(digests: Iterable<string>, at: number): NewReview[] {
  return [...new Set(digests)].map((digest) => ({ kind: 'blob' as const, digest, at }));
}

/**
 * Reviews queued at or before `cutoff`, oldest first across the shards. The cursor is the
 * last sort key returned: a sort key includes the digest, which names the shard, so it is
 * unique across shards.
 */
export async function dueReviews(doc: DynamoDBDocumentClient, table: string, cutoff: number, limit: number, after?: string): Promise<Paged<GcReview>> {
  const upper = `${String(Math.max(0, Math.floor(cutoff))).padStart(TIME_DIGITS, '0')}#~`;
  const perShard = await Promise.all(REVIEW_SHARDS.map(async (shard) => {
    const result = await guarded('DynamoDB Query (gc reviews)', () => doc.send(new QueryCommand({
      TableName: table,
      KeyConditionExpression: after === undefined ? '#pk = :pk AND #sk <= :upper' : '#pk = :pk AND #sk BETWEEN :after AND :upper',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
      ExpressionAttributeValues: { ':pk': `${REVIEW_PARTITION_PREFIX}${shard}`, ':upper': upper, ...(after === undefined ? {} : { ':after': after }) },
      Limit: limit + 1,
      ConsistentRead: true,
    })));
    return (result.Items ?? []).filter((item) => item[SORT_KEY] !== after);
  }));
  const merged = perShard.flat().sort((a, b) => ((a[SORT_KEY] as string) < (b[SORT_KEY] as string) ? -1 : 1));
  const items = merged.slice(0, limit).map(toReview);
  const next = merged.length > limit ? (merged[limit - 1]![SORT_KEY] as string) : undefined;
  return next === undefined ? { items } : { items, next };
}

function toReview(item: Record<string, unknown>): GcReview {
  const review: GcReview = {
    id: `${item[PARTITION_KEY] as string}|${item[SORT_KEY] as string}`,
    kind: item.kind as ReviewKind, digest: item.digest as string, at: item.at as number,
    ...(item.repository === undefined ? {} : { repository: item.repository as string }),
  };
  return review;
}

export async function settleReview(doc: DynamoDBDocumentClient, table: string, review: GcReview): Promise<void> {
  const split = review.id.indexOf('|');
  const key = split > 0 ? { [PARTITION_KEY]: review.id.slice(0, split), [SORT_KEY]: review.id.slice(split + 1) } : reviewKey(review);
  if (!key[PARTITION_KEY]!.startsWith(REVIEW_PARTITION_PREFIX)) throw new Error(`not a gc review: ${review.id.slice(0, 140)}`);
  await guarded('DynamoDB DeleteItem (gc review)', () => doc.send(new DeleteCommand({ TableName: table, Key: key })));
}
