import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
    const result = await guarded('DynamoDB GetItem (tag)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.tag(repository, tag), ConsistentRead: true,
    })));
    return result.Item?.digest as string | undefined;
  }

  async delete(repository: string, tag: string): Promise<boolean> {
    return retryOnConflict(async () => {
      const digest = await this.resolve(repository, tag);
      if (digest === undefined) return false;
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

  /** Points `tag` at `digest`, if it still points where it did when read. */
  moveActions(repository: string, tag: string, from: string | undefined, digest: string): TransactItem[] {
    const actions: TransactItem[] = [
      {
        Put: {
          TableName: this.table, Item: { ...itemKeys.tag(repository, tag), digest },
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
