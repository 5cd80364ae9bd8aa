import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { StoreConflictError, type Page, type PageRequest } from '../../core/index';
import { guarded } from './aws-errors';
import { PARTITION_KEY, SORT_KEY } from './table-schema';

/** How often a read-then-transact operation retries after losing a race. */
const MAX_CONFLICT_ATTEMPTS = 8;

/**
 * Runs `operation` again (after a short, jittered pause) when it loses a race: a condition
 * on something it read no longer holds, or a concurrent transaction held an item. Each
 * attempt must re-read what it depends on. Gives up with StoreConflictError.
 */
export async function retryOnConflict<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
      const ceiling = Math.min(20 * 2 ** attempt, 500);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}

/**
 * One page of sort keys from a partition, in sort-key order, strictly after `after`.
 * Asks for one item more than the limit to learn whether more follow, and keeps reading
 * when DynamoDB stops early at its 1 MB page size.
 */
export async function pageOfSortKeys(
  doc: DynamoDBDocumentClient, table: string, partition: string, page: PageRequest, what: string,
): Promise<Page<string>> {
  const wanted = page.limit + 1;
  const found: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const input: QueryCommandInput = {
      TableName: table,
      KeyConditionExpression: page.after === undefined ? '#pk = :pk' : '#pk = :pk AND #sk > :after',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
      ExpressionAttributeValues: { ':pk': partition, ...(page.after === undefined ? {} : { ':after': page.after }) },
      ProjectionExpression: '#sk',
      Limit: wanted - found.length,
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    const result = await guarded(what, () => doc.send(new QueryCommand(input)));
    for (const item of result.Items ?? []) found.push(item[SORT_KEY] as string);
    start = result.LastEvaluatedKey;
  } while (start && found.length < wanted);
  return { items: found.slice(0, page.limit), more: found.length > page.limit };
}

/** Every item of a partition whose sort key starts with `prefix` (all pages). */
export async function queryAll(
  doc: DynamoDBDocumentClient, table: string, partition: string, prefix: string | undefined, what: string, limit = Infinity,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const input: QueryCommandInput = {
      TableName: table,
      KeyConditionExpression: prefix === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY, ...(prefix === undefined ? {} : { '#sk': SORT_KEY }) },
      ExpressionAttributeValues: { ':pk': partition, ...(prefix === undefined ? {} : { ':prefix': prefix }) },
      ConsistentRead: true,
      ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    const result = await guarded(what, () => doc.send(new QueryCommand(input)));
    items.push(...(result.Items ?? []));
    start = result.LastEvaluatedKey;
  } while (start && items.length < limit);
  return items;
}

/** `SET #a = :a, ...` for every defined value, with its names and values. */
export function setExpression(values: Record<string, unknown>): {
  clauses: string[]; names: Record<string, string>; values: Record<string, unknown>;
} {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const bound: Record<string, unknown> = {};
  for (const [index, [name, value]] of Object.entries(values).entries()) {
    if (value === undefined) continue;
    clauses.push(`#s${index} = :s${index}`);
    names[`#s${index}`] = name;
    bound[`:s${index}`] = value;
  }
  return { clauses, names, values: bound };
}
