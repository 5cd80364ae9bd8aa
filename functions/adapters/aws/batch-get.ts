import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunked, forEachLimited, StoreThrottledError } from '../../core/index';
import { guarded } from './aws-errors';
import { PARTITION_KEY, SORT_KEY } from './table-schema';

type Key = Record<string, string>;

/** DynamoDB's limit on the keys of one BatchGetItem. */
const KEYS_PER_BATCH = 100;
/** BatchGetItem calls in flight at once. */
const BATCH_CONCURRENCY = 8;
/** Rounds of retrying keys DynamoDB left unprocessed (throttling) before giving up. */
const UNPROCESSED_ROUNDS = 6;

/** The identity of an item in a batchGet result. */
export function itemId(key: Key): string {
  return `${key[PARTITION_KEY]}\u0000${key[SORT_KEY]}`;
}

/**
 * Reads many items (each key once), strongly consistent, 100 keys per BatchGetItem, a few
 * calls at a time, retrying the keys DynamoDB leaves unprocessed. Returns the items found, by itemId; only the
 * attributes named in `attributes` (plus the key) are read.
 */
export async function batchGet(
  doc: DynamoDBDocumentClient, table: string, keys: Key[], attributes: string[], what: string,
): Promise<Map<string, Record<string, unknown>>> {
  const names = Object.fromEntries([PARTITION_KEY, SORT_KEY, ...attributes].map((name, index) => [`#a${index}`, name]));
  const projection = Object.keys(names).join(', ');
  const found = new Map<string, Record<string, unknown>>();
  // BatchGetItem refuses a request that names one key twice.
  const distinct = [...new Map(keys.map((key) => [itemId(key), key])).values()];
  await forEachLimited(chunked(distinct, KEYS_PER_BATCH), BATCH_CONCURRENCY, async (batch) => {
    let pending: Key[] = batch;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= UNPROCESSED_ROUNDS) throw new StoreThrottledError(`${what}: keys left unprocessed`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** round));
      const result = await guarded(what, () => doc.send(new BatchGetCommand({
        RequestItems: { [table]: { Keys: pending, ConsistentRead: true, ProjectionExpression: projection, ExpressionAttributeNames: names } },
      })));
      for (const item of result.Responses?.[table] ?? []) found.set(itemId(item as Key), item);
      pending = (result.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
    }
  });
  return found;
}
