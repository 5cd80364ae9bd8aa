import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Descriptor, ManifestRecord, Page, PageRequest } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { pageOfSortKeys, queryAll, retryOnConflict, setExpression } from './dynamo-helpers';
import type { ManifestBodies, StoredBody } from './manifest-bodies';
import { PARTITION_KEY, SORT_KEY } from './table-schema';

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** DynamoDB allows 100 actions per transaction: 49 tags (2 actions each) + the manifest update. */
const TAGS_PER_TRANSACTION = 49;

/**
 * Manifests, tags and referrers (keys in data-layout.ts). Every change that spans items
 * is one TransactWriteItems, conditioned on what was read first, and retried when a
 * concurrent request changed it meanwhile:
 * - a tag and the back-reference from its manifest change together, so deleting a
 *   manifest finds every tag pointing to it with a consistent Query;
 * - adding a tag bumps the manifest's `tagRev`, and a manifest is deleted only if its
 *   `tagRev` is unchanged since its tags were removed: no tag can be left dangling.
 */
export class ManifestIndex {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly bodies: ManifestBodies,
  ) {}

  async put(repository: string, manifest: ManifestRecord, tag?: string): Promise<void> {
    const stored = await this.bodies.store(repository, manifest);
    await retryOnConflict(async () => {
      const current = tag === undefined ? undefined : await this.resolveTag(repository, tag);
      const tagging = tag !== undefined && current !== manifest.digest;
      const actions: TransactItem[] = [this.manifestUpdate(repository, manifest, stored, tagging)];
      if (manifest.subject) {
        actions.push({ Put: { TableName: this.table, Item: { ...itemKeys.referrer(repository, manifest.subject, manifest.digest), ...referrerDescriptor(manifest) } } });
      }
      if (tagging) actions.push(...this.tagMove(repository, tag, current, manifest.digest));
      await guarded('DynamoDB TransactWriteItems (put manifest)', () => this.doc.send(new TransactWriteCommand({ TransactItems: actions })));
    });
  }

  async get(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const item = await this.getItem(repository, digest);
    if (!item) return undefined;
    const body = await this.bodies.load(storedBodyOf(item));
    if (!body) return undefined;
    const record: ManifestRecord = {
      digest: item.digest as string, mediaType: item.mediaType as string, size: item.size as number, body, createdAt: item.createdAt as number,
    };
    if (item.subject !== undefined) record.subject = item.subject as string;
    if (item.artifactType !== undefined) record.artifactType = item.artifactType as string;
    if (item.annotations !== undefined) record.annotations = item.annotations as Record<string, string>;
    return record;
  }

  async delete(repository: string, digest: string): Promise<boolean> {
    let found = false;
    for (;;) {
      const done = await retryOnConflict(async () => {
        const item = await this.getItem(repository, digest);
        if (!item) return true;
        found = true;
        // Read the counter before the back-references: a tag added after this read bumps it.
        const tagRev = item.tagRev as number | undefined;
        const prefix = itemKeys.manifestTagPrefix(digest);
        const partition = itemKeys.repositoryPartition(repository);
        const tagged = await queryAll(this.doc, this.table, partition, prefix, 'DynamoDB Query (manifest tags)', TAGS_PER_TRANSACTION);
        if (tagged.length > 0) {
          const tags = tagged.map((ref) => (ref[SORT_KEY] as string).slice(prefix.length));
          await this.transact('delete manifest tags', tags.flatMap((tag) => this.tagRemoval(repository, tag, digest)));
          return false; // more tags may follow; then the manifest itself
        }
        const actions: TransactItem[] = [{
          Delete: {
            TableName: this.table, Key: itemKeys.manifest(repository, digest),
            ConditionExpression: tagRev === undefined ? 'attribute_not_exists(tagRev)' : 'tagRev = :rev',
            ...(tagRev === undefined ? {} : { ExpressionAttributeValues: { ':rev': tagRev } }),
          },
        }];
        if (item.subject !== undefined) actions.push({ Delete: { TableName: this.table, Key: itemKeys.referrer(repository, item.subject as string, digest) } });
        await this.transact('delete manifest', actions);
        await this.bodies.remove(storedBodyOf(item));
        return true;
      });
      if (done) return found;
    }
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    const result = await guarded('DynamoDB GetItem (tag)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.tag(repository, tag), ConsistentRead: true,
    })));
    return result.Item?.digest as string | undefined;
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return retryOnConflict(async () => {
      const digest = await this.resolveTag(repository, tag);
      if (digest === undefined) return false;
      await this.transact('delete tag', this.tagRemoval(repository, tag, digest));
      return true;
    });
  }

  listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    return pageOfSortKeys(this.doc, this.table, itemKeys.tagsPartition(repository), page, 'DynamoDB Query (tags)');
  }

  async listReferrers(repository: string, subject: string): Promise<Descriptor[]> {
    const items = await queryAll(this.doc, this.table, itemKeys.referrersPartition(repository, subject), undefined, 'DynamoDB Query (referrers)');
    return items.map((item) => {
      const descriptor: Descriptor = { mediaType: item.mediaType as string, digest: item.digest as string, size: item.size as number };
      if (item.artifactType !== undefined) descriptor.artifactType = item.artifactType as string;
      if (item.annotations !== undefined) descriptor.annotations = item.annotations as Record<string, string>;
      return descriptor;
    });
  }

  private async getItem(repository: string, digest: string): Promise<Record<string, unknown> | undefined> {
    const result = await guarded('DynamoDB GetItem (manifest)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.manifest(repository, digest), ConsistentRead: true,
    })));
    return result.Item;
  }

  private async transact(what: string, actions: TransactItem[]): Promise<void> {
    await guarded(`DynamoDB TransactWriteItems (${what})`, () => this.doc.send(new TransactWriteCommand({ TransactItems: actions })));
  }

  /** Writes the manifest item whole; re-pushing the same digest rewrites the same values. */
  private manifestUpdate(repository: string, manifest: ManifestRecord, stored: StoredBody, tagging: boolean): TransactItem {
    const set = setExpression({
      digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size, createdAt: manifest.createdAt,
      subject: manifest.subject, artifactType: manifest.artifactType, annotations: manifest.annotations,
      body: stored.body, bodyKey: stored.bodyKey,
    });
    const clauses = [...set.clauses];
    const values: Record<string, unknown> = { ...set.values };
    if (tagging) {
      clauses.push('tagRev = if_not_exists(tagRev, :zero) + :one');
      Object.assign(values, { ':zero': 0, ':one': 1 });
    }
    return {
      Update: {
        TableName: this.table, Key: itemKeys.manifest(repository, manifest.digest),
        UpdateExpression: `SET ${clauses.join(', ')}`, ExpressionAttributeNames: set.names, ExpressionAttributeValues: values,
      },
    };
  }

  /** Points `tag` at `digest`, if it still points where it did when read. */
  private tagMove(repository: string, tag: string, from: string | undefined, digest: string): TransactItem[] {
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
  private tagRemoval(repository: string, tag: string, digest: string): TransactItem[] {
    return [
      { Delete: { TableName: this.table, Key: itemKeys.tag(repository, tag), ConditionExpression: 'digest = :digest', ExpressionAttributeValues: { ':digest': digest } } },
      { Delete: { TableName: this.table, Key: itemKeys.manifestTag(repository, digest, tag) } },
    ];
  }
}

function storedBodyOf(item: Record<string, unknown>): StoredBody {
  return item.bodyKey !== undefined ? { bodyKey: item.bodyKey as string } : { body: item.body as Uint8Array };
}

function referrerDescriptor(manifest: ManifestRecord): Record<string, unknown> {
  return {
    mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size,
    artifactType: manifest.artifactType, annotations: manifest.annotations,
  };
}
