import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PULL_RECORD_INTERVAL_MS } from '../../core/policy/ports';
import type { Page, PageRequest } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { pageOfSortKeys, queryAll, retryOnConflict } from './dynamo-helpers';
import { PARTITION_KEY, SORT_KEY } from './table-schema';
import { transact, type TransactItem } from './transactions';

/**
 * Tags and their back-references (keys in data-layout.ts). A tag item and the back-reference
 * from its manifest ("this manifest is tagged <tag>") always change in one transaction,
 * conditioned on where the tag pointed when read, so deleting a manifest finds every tag
 * pointing to it with one consistent Query.
 */
export class TagItems {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async resolve(repository: string, tag: string): Promise<string | undefined> {
    return (await this.item(repository, tag))?.digest as string | undefined;
  }

  private async item(repository: string, tag: string): Promise<Record<string, unknown> | undefined> {
    const result = await guarded('DynamoDB GetItem (tag)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.tag(repository, tag), ConsistentRead: true,
    })));
    return result.Item;
  }

  /**
   * resolve for a pull by tag: the same one GetItem, plus, when the item's pulledAt is a day old
   * or more, one conditional UpdateItem of it (so concurrent pulls write it once). Best effort.
   */
  async resolveForPull(repository: string, tag: string, now: number): Promise<string | undefined> {
    const item = await this.item(repository, tag);
    const digest = item?.digest as string | undefined;
    const due = now - PULL_RECORD_INTERVAL_MS;
    if (digest === undefined || (typeof item?.pulledAt === 'number' && item.pulledAt > due)) return digest;
    await this.doc.send(new UpdateCommand({
      TableName: this.table, Key: itemKeys.tag(repository, tag), UpdateExpression: 'SET pulledAt = :now',
      ConditionExpression: 'digest = :digest AND (attribute_not_exists(pulledAt) OR pulledAt <= :due)',
      ExpressionAttributeValues: { ':now': now, ':digest': digest, ':due': due },
    })).catch(() => undefined);
    return digest;
  }

  /** Every tag item of a repository: tag (sort key), digest, pushedAt?, pulledAt?. */
  all(repository: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.doc, this.table, itemKeys.tagsPartition(repository), undefined, 'DynamoDB Query (tags)');
  }

  /** A re-push of the digest the tag already has: only its push time changes. */
  async touch(repository: string, tag: string, digest: string, at: number): Promise<void> {
    await this.doc.send(new UpdateCommand({
      TableName: this.table, Key: itemKeys.tag(repository, tag), UpdateExpression: 'SET pushedAt = :at',
      ConditionExpression: 'digest = :digest', ExpressionAttributeValues: { ':at': at, ':digest': digest },
    })).catch(() => undefined);
  }

  /** With `expected`, deletes only while the tag points at that digest. */
  async delete(repository: string, tag: string, expected?: string): Promise<boolean> {
    return retryOnConflict(async () => {
      const digest = await this.resolve(repository, tag);
      if (digest === undefined || (expected !== undefined && digest !== expected)) return false;
      await transact(this.doc, 'delete tag', this.removalActions(repository, tag, digest));
      return true;
    });
  }

  list(repository: string, page: PageRequest): Promise<Page<string>> {
    return pageOfSortKeys(this.doc, this.table, itemKeys.tagsPartition(repository), page, 'DynamoDB Query (tags)');
  }

  /** Up to `limit` tags pointing at a manifest, from its back-references. */
  async pointingTo(repository: string, digest: string, limit: number): Promise<string[]> {
    const prefix = itemKeys.manifestTagPrefix(digest);
    const refs = await queryAll(this.doc, this.table, itemKeys.repositoryPartition(repository), prefix, 'DynamoDB Query (manifest tags)', limit);
    return refs.map((ref) => (ref[SORT_KEY] as string).slice(prefix.length));
  }

  /** Points `tag` at `digest` (pushed at `at`, epoch ms), if it still points where it did when read. */
  moveActions(repository: string, tag: string, from: string | undefined, digest: string, at: number): TransactItem[] {
    const actions: TransactItem[] = [
      {
        Put: {
          TableName: this.table, Item: { ...itemKeys.tag(repository, tag), digest, pushedAt: at },
          ...(from === undefined
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } }
            : { ConditionExpression: 'digest = :from', ExpressionAttributeValues: { ':from': from } }),
        },
      },
      { Put: { TableName: this.table, Item: itemKeys.manifestTag(repository, digest, tag) } },
    ];
    if (from !== undefined) actions.push({ Delete: { TableName: this.table, Key: itemKeys.manifestTag(repository, from, tag) } });
    return actions;
  }

  /** Removes `tag`, if it still points at `digest`, with its back-reference. */
  removalActions(repository: string, tag: string, digest: string): TransactItem[] {
    return [
      { Delete: { TableName: this.table, Key: itemKeys.tag(repository, tag), ConditionExpression: 'digest = :digest', ExpressionAttributeValues: { ':digest': digest } } },
      { Delete: { TableName: this.table, Key: itemKeys.manifestTag(repository, digest, tag) } },
    ];
  }
}
