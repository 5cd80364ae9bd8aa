import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  BlobRecord, Clock, DeleteManifestOptions, Descriptor, FoundReferences, ManifestRecord, ManifestReferences, MetadataStore, Page,
  PageRequest, PutManifestOptions, UploadSession,
} from '../../core/index';
import type { ManifestInfo, PolicyInventory, TagInfo } from '../../core/policy/ports';
import { StoreConflictError } from '../../core/index';
import { DirectorySyncs, isNotFound, nodeFs, readJson, removeFile, writeFileAtomic, type DurableFs } from './atomic';
import { listDir } from './files';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout, unescapeRepository } from './paths';
import { RepositoryFiles } from './repository-files';
import { ReviewQueue } from './review-queue';
import { SortedSet } from './sorted-set';
import { FsPolicyInventory } from './policy-inventory';

export interface FsMetadataStoreOptions {
  /** fsync metadata files before renaming them into place, and their directories after. @default true */
  readonly fsync?: boolean;
  /** The file operations durable writes make (tests record them). @default node:fs */
  readonly fs?: DurableFs;
  /** Times the garbage collector's reviews and blob links carry. @default the system clock */
  readonly clock?: Clock;
}

/**
 * Registry metadata as small files (layout in paths.ts). Listings are served from sorted
 * in-memory indexes loaded on first use, so this store assumes it is the only writer of
 * its data dir: one `npm start` per NIMBUS_DATA_DIR.
 */
export class FsMetadataStore implements MetadataStore, PolicyInventory {
  private readonly layout: DataLayout;
  private readonly fsync: boolean;
  private readonly fs: DurableFs;
  private readonly mutex = new KeyedMutex();
  private readonly repos: RepositoryFiles;
  private repositories: Promise<SortedSet> | undefined;
  readonly clock: Clock;
  /** The garbage collector's review queue (gc-store.ts reads it). */
  readonly reviews: ReviewQueue;
  private readonly inventory: FsPolicyInventory;

  constructor(root: string, options: FsMetadataStoreOptions = {}) {
    this.layout = new DataLayout(root);
    this.fsync = options.fsync ?? true;
    this.fs = options.fs ?? nodeFs;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.reviews = new ReviewQueue(this.layout, {
      write: (path, data, syncs) => this.write(path, data, syncs),
      remove: (path, syncs) => this.remove(path, syncs),
    });
    this.repos = new RepositoryFiles(this.layout, {
      write: (path, data, syncs) => this.write(path, data, syncs),
      remove: (path, syncs) => this.remove(path, syncs),
      batch: () => new DirectorySyncs(this.fs),
    }, { now: () => this.clock.now(), reviews: this.reviews });
    this.inventory = new FsPolicyInventory(this.layout, this.repos);
  }

  async init(): Promise<void> {
    await mkdir(this.layout.tmp, { recursive: true });
    await mkdir(this.layout.uploadSessionsRoot, { recursive: true });
  }

  /** Durable under fsync when it returns, or when `syncs` is flushed. */
  private write(path: string, data: Uint8Array | string, syncs?: DirectorySyncs): Promise<void> {
    return writeFileAtomic(this.layout.tmp, path, data, { fsync: this.fsync, fs: this.fs, ...(syncs ? { syncs } : {}) });
  }

  private remove(path: string, syncs?: DirectorySyncs): Promise<boolean> {
    return removeFile(path, { fsync: this.fsync, fs: this.fs, ...(syncs ? { syncs } : {}) });
  }

  /** Upload sessions are checkpoints: flushed, but their directory is not (see DurableOptions). */
  private checkpoint(path: string, data: string): Promise<void> {
    return writeFileAtomic(this.layout.tmp, path, data, { fsync: this.fsync, fs: this.fs, checkpoint: true });
  }

  // Blobs

  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    return readJson<BlobRecord>(this.layout.blobRecord(digest));
  }

  async putBlob(record: BlobRecord): Promise<{ record: BlobRecord; created: boolean }> {
    return this.mutex.run(`blob:${record.digest}`, async () => {
      const existing = await this.getBlob(record.digest);
      if (existing) return { record: existing, created: false };
      // Reviewed first: a blob no manifest ever uses must go too, and a crash must not lose that.
      await this.reviews.queueBlob(record.digest, this.clock.now());
      await this.write(this.layout.blobRecord(record.digest), JSON.stringify(record));
      return { record, created: true };
    });
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.remove(this.layout.blobRecord(digest));
  }

  async linkBlob(repository: string, digest: string): Promise<void> {
    await this.repos.link(repository, digest);
    await this.noteRepository(repository);
  }

  /** For the collector: removes the link unless a stored manifest uses the blob. */
  unlinkUnused(repository: string, digest: string): Promise<boolean> {
    return this.repos.unlinkUnused(repository, digest);
  }

    isBlobLinked(repository: string, digest: string): Promise<boolean> {
    return this.repos.isLinked(repository, digest);
  }

  unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return this.repos.unlink(repository, digest);
  }

  async blobRepositories(digest: string, limit: number): Promise<string[]> {
    const names = await listDir(this.layout.blobRepos(digest));
    return names.slice(0, limit).map(unescapeRepository);
  }

  // Manifests and tags (one lock per repository: repository-files.ts)

  findReferences(repository: string, references: ManifestReferences): Promise<FoundReferences> {
    return this.repos.findReferences(repository, references);
  }

  async putManifest(
    repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string, options?: PutManifestOptions,
  ): Promise<void> {
    await this.repos.put(repository, manifest, references, tag, options);
    await this.noteRepository(repository);
  }

  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    return this.repos.get(repository, digest);
  }

  deleteManifest(repository: string, digest: string, options?: DeleteManifestOptions): Promise<boolean> {
    return this.repos.delete(repository, digest, options);
  }

  resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return this.repos.resolveTag(repository, tag);
  }

  deleteTag(repository: string, tag: string, expected?: string): Promise<boolean> {
    return this.repos.deleteTag(repository, tag, expected);
  }

  listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    return this.repos.listTags(repository, page);
  }

  listReferrers(repository: string, subject: string): Promise<Descriptor[]> {
    return this.repos.listReferrers(repository, subject);
  }

  // Retention's inventory (core/policy/ports.ts)

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
    return this.repos.resolvePulledTag(repository, tag, now);
  }

  // Repositories

  async repositoryExists(repository: string): Promise<boolean> {
    return (await this.repositoryIndex()).has(repository);
  }

  async listRepositories(page: PageRequest): Promise<Page<string>> {
    return (await this.repositoryIndex()).page(page.limit, page.after);
  }

  private async noteRepository(repository: string): Promise<void> {
    (await this.repositoryIndex()).add(repository);
  }

  private repositoryIndex(): Promise<SortedSet> {
    this.repositories ??= findRepositories(this.layout.repositoriesRoot).then((names) => new SortedSet(names));
    return this.repositories;
  }

  // Upload sessions

  async createUpload(session: UploadSession): Promise<void> {
    await this.checkpoint(this.layout.uploadSession(session.id), JSON.stringify(session));
  }

  async getUpload(id: string): Promise<UploadSession | undefined> {
    return readJson<UploadSession>(this.layout.uploadSession(id));
  }

  async updateUpload(session: UploadSession, expectedVersion: number): Promise<void> {
    await this.mutex.run(`upload:${session.id}`, async () => {
      const current = await this.getUpload(session.id);
      if (!current || current.version !== expectedVersion) throw new StoreConflictError(`upload ${session.id} changed concurrently`);
      await this.checkpoint(this.layout.uploadSession(session.id), JSON.stringify(session));
    });
  }

  async deleteUpload(id: string): Promise<void> {
    await this.mutex.run(`upload:${id}`, () => removeFile(this.layout.uploadSession(id)));
  }

  /**
   * Frees uploads leased by a server that is gone. Only safe at startup, while holding the
   * data dir's lock: no request of this process can hold a lease yet.
   */
  async releaseAllLeases(): Promise<number> {
    const files = await listDir(this.layout.uploadSessionsRoot);
    let released = 0;
    for (const file of files) {
      const session = await readJson<UploadSession>(join(this.layout.uploadSessionsRoot, file));
      if (!session?.lease) continue;
      const { lease: _lease, ...rest } = session;
      await this.updateUpload({ ...rest, version: session.version + 1 }, session.version);
      released++;
    }
    return released;
  }

  /** How many upload sessions exist (open, or abandoned and not yet swept): a metric. */
  async uploadCount(): Promise<number> {
    return (await listDir(this.layout.uploadSessionsRoot)).length;
  }

  /** Sessions past their expiry, for the sweeper that reclaims abandoned uploads. */
  async expiredUploads(nowSeconds: number): Promise<UploadSession[]> {
    const files = await listDir(this.layout.uploadSessionsRoot);
    const sessions = await Promise.all(files.map((file) => readJson<UploadSession>(join(this.layout.uploadSessionsRoot, file))));
    return sessions.filter((s): s is UploadSession => s !== undefined && s.expiresAt <= nowSeconds);
  }
}

/** Walks meta/repositories: a directory holding any "_" entry is a repository. */
async function findRepositories(root: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: unknown) => {
    if (isNotFound(error)) return [];
    throw error;
  });
  const found: string[] = [];
  if (prefix && entries.some((e) => e.name.startsWith('_'))) found.push(prefix);
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('_')) continue;
    found.push(...(await findRepositories(join(root, entry.name), prefix ? `${prefix}/${entry.name}` : entry.name)));
  }
  return found;
}

