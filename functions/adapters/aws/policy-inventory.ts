import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ManifestInfo, TagInfo } from '../../core/policy/ports';
import { guarded } from './aws-errors';
import { batchGet, itemId } from './batch-get';
import { itemKeys } from './data-layout';
import { PARTITION_KEY, SORT_KEY } from './table-schema';
import type { TagItems } from './tag-items';

/**
 * Retention's reads of the table (data-layout.ts): tag items with pushedAt/pulledAt, and every
 * manifest of a repository with the reference lists of its stored generation, from one Query of
 * the repository partition (bodies not read).
 */
export class DynamoPolicyInventory {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly tags: TagItems) {}

  async listTagInfo(repository: string): Promise<TagInfo[]> {
    const items = await this.tags.all(repository);
    // Tags written before push times were recorded: their manifest's first push stands in.
    const legacy = items.filter((item) => typeof item.pushedAt !== 'number');
    const created = legacy.length === 0 ? new Map<string, Record<string, unknown>>() : await batchGet(
      this.doc, this.table, legacy.map((item) => itemKeys.manifest(repository, item.digest as string)), ['createdAt'], 'DynamoDB BatchGetItem (manifest times)',
    );
    return items.map((item) => {
      const digest = item.digest as string;
      const pushedAt = typeof item.pushedAt === 'number' ? item.pushedAt : (created.get(itemId(itemKeys.manifest(repository, digest)))?.createdAt as number | undefined) ?? 0;
      return { tag: item[SORT_KEY] as string, digest, pushedAt, ...(typeof item.pulledAt === 'number' ? { pulledAt: item.pulledAt } : {}) };
    });
  }

  async listManifestInfo(repository: string): Promise<ManifestInfo[]> {
    const items = await this.query(repository);
    const lists = new Map<string, { blobs: string[]; children: string[] }>();
    const manifests: Record<string, unknown>[] = [];
    for (const item of items) {
      const sk = item[SORT_KEY] as string;
      const parts = sk.split('#');
      if (parts.length === 2) manifests.push(item);
      else if (parts[2] === 'USES') {
        const key = `${parts[1]}#${parts[3]}`;
        const list = lists.get(key) ?? { blobs: [], children: [] };
        list.blobs.push(...((item.blobs as string[] | undefined) ?? []));
        list.children.push(...((item.manifests as string[] | undefined) ?? []));
        lists.set(key, list);
      }
    }
    return manifests.map((item) => {
      const digest = item.digest as string;
      const list = lists.get(`${digest}#${item.generation as string}`) ?? { blobs: [], children: [] };
      return {
        digest, size: item.size as number, createdAt: item.createdAt as number,
        ...(typeof item.subject === 'string' ? { subject: item.subject } : {}), blobs: list.blobs, children: list.children,
      };
    });
  }

  async blobSizes(digests: readonly string[]): Promise<Map<string, number>> {
    const found = await batchGet(this.doc, this.table, digests.map((digest) => itemKeys.blob(digest)), ['digest', 'size'], 'DynamoDB BatchGetItem (blob sizes)');
    return new Map([...found.values()].map((item) => [item.digest as string, item.size as number]));
  }

  /** The repository partition's MANIFEST# items, without bodies. */
  private async query(repository: string): Promise<Record<string, unknown>[]> {
    const attributes = [SORT_KEY, 'digest', 'size', 'createdAt', 'subject', 'generation', 'blobs', 'manifests'];
    const names = Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#a0, :prefix)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, ...names },
        ExpressionAttributeValues: { ':pk': itemKeys.repositoryPartition(repository), ':prefix': 'MANIFEST#' },
        ProjectionExpression: Object.keys(names).join(', '),
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const result = await guarded('DynamoDB Query (manifests)', () => this.doc.send(new QueryCommand(input)));
      items.push(...(result.Items ?? []));
      start = result.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
