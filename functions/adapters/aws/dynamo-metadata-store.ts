import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type {
  BlobRecord, DeleteManifestOptions, Descriptor, FoundReferences, ManifestRecord, ManifestReferences, MetadataStore, Page, PageRequest,
  PutManifestOptions, UploadSession,
} from '../../core/index';
import type { ManifestInfo, PolicyInventory, TagInfo } from '../../core/policy/ports';
import { DynamoPolicyInventory } from './policy-inventory';
import { StoreInUseError } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { pageOfSortKeys, queryAll } from './dynamo-helpers';
import { ManifestBodies } from './manifest-bodies';
import type { S3Source } from './s3-access';
import { ManifestIndex, type ReferenceTuning } from './manifest-index';
import { SORT_KEY } from './table-schema';
import { UploadSessionTable } from './upload-sessions';
import { BlobItems } from './blob-items';

export interface DynamoMetadataStoreOptions {
  readonly table: string;
  /** Bucket for manifest bodies too large for a DynamoDB item. */
  readonly bucket: string;
  /** How references are written (manifest-index.ts); tests shrink these to exercise chunking. */
  readonly references?: ReferenceTuning;
  /** Epoch ms of the times garbage collection reads (links, releases, reviews). @default Date.now */
  readonly now?: () => number;
}

/** Repositories this process has already entered in the catalog; bounded, a cache only. */
const KNOWN_REPOSITORIES_LIMIT = 10_000;

/**
 * Registry metadata in one DynamoDB table (layout and access patterns: data-layout.ts).
 * Reads are strongly consistent, so a client sees its own writes at once.
 */
export class DynamoMetadataStore implements MetadataStore, PolicyInventory {
  private readonly table: string;
  private readonly manifests: ManifestIndex;
  private readonly uploads: UploadSessionTable;
  private readonly blobs: BlobItems;
  private readonly knownRepositories = new Set<string>();
  private readonly inventory: DynamoPolicyInventory;

  constructor(private readonly doc: DynamoDBDocumentClient, s3: S3Source, options: DynamoMetadataStoreOptions) {
    this.table = options.table;
    this.manifests = new ManifestIndex(doc, options.table, new ManifestBodies(s3, options.bucket), options.references, options.now);
    this.uploads = new UploadSessionTable(doc, options.table);
    this.blobs = new BlobItems(doc, options.table, options.now);
    this.inventory = new DynamoPolicyInventory(doc, options.table, this.manifests.tags);
  }

  // Blobs

  getBlob(digest: string): Promise<BlobRecord | undefined> {
    return this.blobs.get(digest);
  }

  /** Create-if-absent, queuing a garbage-collection review in the same transaction. */
  putBlob(record: BlobRecord): Promise<{ record: BlobRecord; created: boolean }> {
    return this.blobs.put(record);
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.remove(itemKeys.blob(digest), 'blob');
  }

  /** Keeps the count of manifests using the blob; takes it back from a collector (blob-items.ts). */
  async linkBlob(repository: string, digest: string): Promise<void> {
    await Promise.all([this.blobs.link(repository, digest), this.noteRepository(repository)]);
  }

  async isBlobLinked(repository: string, digest: string): Promise<boolean> {
    return (await this.get(itemKeys.blobLink(digest, repository), 'blob link')) !== undefined;
  }

  /** Deletes the link only while no manifest counts it (`refs`), else names one that does. */
  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const unlinked = await this.blobs.unlink(repository, digest);
    if (unlinked !== 'in use') return unlinked === 'unlinked';
    throw new StoreInUseError('blob', digest, await this.manifests.holderOf(repository, { kind: 'blob', digest }));
  }

  async blobRepositories(digest: string, limit: number): Promise<string[]> {
    const prefix = itemKeys.blobLinkPrefix;
    const links = await queryAll(this.doc, this.table, itemKeys.blobLinksPartition(digest), prefix, 'DynamoDB Query (blob links)', limit);
    return links.map((link) => (link[SORT_KEY] as string).slice(prefix.length));
  }

  // Manifests and tags

  findReferences(repository: string, references: ManifestReferences): Promise<FoundReferences> {
    return this.manifests.findReferences(repository, references);
  }

  async putManifest(
    repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string, options?: PutManifestOptions,
  ): Promise<void> {
    await Promise.all([this.manifests.put(repository, manifest, references, tag, options), this.noteRepository(repository)]);
  }

  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    return this.manifests.get(repository, digest);
  }

  deleteManifest(repository: string, digest: string, options?: DeleteManifestOptions): Promise<boolean> {
    return this.manifests.delete(repository, digest, options);
  }

  resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return this.manifests.tags.resolve(repository, tag);
  }

  deleteTag(repository: string, tag: string, expected?: string): Promise<boolean> {
    return this.manifests.tags.delete(repository, tag, expected);
  }

  listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    return this.manifests.tags.list(repository, page);
  }

  listReferrers(repository: string, subject: string): Promise<Descriptor[]> {
    return this.manifests.listReferrers(repository, subject);
  }

  // Retention's inventory (core/policy/ports.ts; policy-inventory.ts)

  listTagInfo(repository: string): Promise<TagInfo[]> {
    return this.inventory.listTagInfo(repository);
  }

  listManifestInfo(repository: string): Promise<ManifestInfo[]> {
    return this.inventory.listManifestInfo(repository);
  }

  blobSizes(digests: readonly string[]): Promise<Map<string, number>> {
    return this.inventory.blobSizes(digests);
  }

  resolvePulledTag(repository: string, tag: string, now: number): Promise<string | undefined> {
    return this.manifests.tags.resolveForPull(repository, tag, now);
  }

  // Repositories

  async repositoryExists(repository: string): Promise<boolean> {
    return (await this.get(itemKeys.repository(repository), 'repository')) !== undefined;
  }

  listRepositories(page: PageRequest): Promise<Page<string>> {
    return pageOfSortKeys(this.doc, this.table, itemKeys.catalogPartition, page, 'DynamoDB Query (catalog)');
  }

  /**
   * Enters a repository in the catalog. The catalog is one partition, so writes to it are
   * skipped for repositories this process has already entered.
   */
  private async noteRepository(repository: string): Promise<void> {
    if (this.knownRepositories.has(repository)) return;
    await guarded('DynamoDB PutItem (repository)', () => this.doc.send(new PutCommand({ TableName: this.table, Item: itemKeys.repository(repository) })));
    if (this.knownRepositories.size >= KNOWN_REPOSITORIES_LIMIT) this.knownRepositories.clear();
    this.knownRepositories.add(repository);
  }

  // Upload sessions

  createUpload(session: UploadSession): Promise<void> {
    return this.uploads.create(session);
  }

  getUpload(id: string): Promise<UploadSession | undefined> {
    return this.uploads.get(id);
  }

  updateUpload(session: UploadSession, expectedVersion: number): Promise<void> {
    return this.uploads.update(session, expectedVersion);
  }

  deleteUpload(id: string): Promise<void> {
    return this.uploads.delete(id);
  }

  private async get(key: Record<string, string>, what: string): Promise<Record<string, unknown> | undefined> {
    const result = await guarded(`DynamoDB GetItem (${what})`, () => this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true })));
    return result.Item;
  }

  /** Deletes an item; returns whether it existed. */
  private async remove(key: Record<string, string>, what: string): Promise<boolean> {
    const result = await guarded(`DynamoDB DeleteItem (${what})`, () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: key, ReturnValues: 'ALL_OLD' })));
    return result.Attributes !== undefined;
  }
}
