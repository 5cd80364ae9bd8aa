import { access, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobRecord, Descriptor, ManifestRecord, MetadataStore, Page, PageRequest, UploadSession } from '../../core/index';
import { StoreConflictError } from '../../core/index';
import { DirectorySyncs, isNotFound, nodeFs, readJson, readText, removeFile, writeFileAtomic, type DurableFs } from './atomic';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout, escapeRepository, unescapeRepository, unescapeTag } from './paths';
import { SortedSet } from './sorted-set';

type StoredManifest = Omit<ManifestRecord, 'body'>;

export interface FsMetadataStoreOptions {
  /** fsync metadata files before renaming them into place, and their directories after. @default true */
  readonly fsync?: boolean;
  /** The file operations durable writes make (tests record them). @default node:fs */
  readonly fs?: DurableFs;
}

/**
 * Registry metadata as small files (layout in paths.ts). Listings are served from sorted
 * in-memory indexes loaded on first use, so this store assumes it is the only writer of
 * its data dir: one `npm start` per NIMBUS_DATA_DIR.
 */
export class FsMetadataStore implements MetadataStore {
  private readonly layout: DataLayout;
  private readonly fsync: boolean;
  private readonly fs: DurableFs;
  private readonly mutex = new KeyedMutex();
  private repositories: Promise<SortedSet> | undefined;
  private readonly tagIndexes = new Map<string, Promise<TagIndex>>();

  constructor(root: string, options: FsMetadataStoreOptions = {}) {
    this.layout = new DataLayout(root);
    this.fsync = options.fsync ?? true;
    this.fs = options.fs ?? nodeFs;
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
      await this.write(this.layout.blobRecord(record.digest), JSON.stringify(record));
      return { record, created: true };
    });
  }

  async deleteBlob(digest: string): Promise<void> {
    await this.remove(this.layout.blobRecord(digest));
  }

  async linkBlob(repository: string, digest: string): Promise<void> {
    const syncs = new DirectorySyncs(this.fs);
    await this.write(this.layout.link(repository, digest), '', syncs);
    await this.write(join(this.layout.blobRepos(digest), escapeRepository(repository)), '', syncs);
    await syncs.flush();
    await this.noteRepository(repository);
  }

  async isBlobLinked(repository: string, digest: string): Promise<boolean> {
    return exists(this.layout.link(repository, digest));
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    const syncs = new DirectorySyncs(this.fs);
    const removed = await this.remove(this.layout.link(repository, digest), syncs);
    await this.remove(join(this.layout.blobRepos(digest), escapeRepository(repository)), syncs);
    await syncs.flush();
    return removed;
  }

  async blobRepositories(digest: string, limit: number): Promise<string[]> {
    const names = await listDir(this.layout.blobRepos(digest));
    return names.slice(0, limit).map(unescapeRepository);
  }

  // Manifests and tags

  async putManifest(repository: string, manifest: ManifestRecord, tag?: string): Promise<void> {
    const { body, ...record } = manifest;
    // Order matters for crash safety: an unreferenced manifest is harmless, a tag to nothing is not.
    // So the manifest's files are flushed (one fsync per directory) before the tag is written.
    const syncs = new DirectorySyncs(this.fs);
    await this.write(this.layout.manifestBody(repository, manifest.digest), body, syncs);
    await this.write(this.layout.manifestRecord(repository, manifest.digest), JSON.stringify(record), syncs);
    if (manifest.subject) {
      await this.write(this.layout.referrer(repository, manifest.subject, manifest.digest), JSON.stringify(referrerDescriptor(manifest)), syncs);
    }
    await syncs.flush();
    if (tag !== undefined) {
      const tags = await this.tagIndex(repository);
      await this.mutex.run(`tags:${repository}`, async () => {
        await this.write(this.layout.tag(repository, tag), manifest.digest);
        tags.set(tag, manifest.digest);
      });
    }
    await this.noteRepository(repository);
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const record = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
    if (!record) return undefined;
    try {
      const body = new Uint8Array(await readFile(this.layout.manifestBody(repository, digest)));
      return { ...record, body };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    const record = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
    if (!record) return false;
    const tags = await this.tagIndex(repository);
    await this.mutex.run(`tags:${repository}`, async () => {
      // The tags go (flushed) before the manifest: a tag to nothing must not survive a power loss.
      const untagged = new DirectorySyncs(this.fs);
      for (const tag of tags.pointingTo(digest)) {
        await this.remove(this.layout.tag(repository, tag), untagged);
        tags.delete(tag);
      }
      await untagged.flush();
    });
    const syncs = new DirectorySyncs(this.fs);
    if (record.subject) await this.remove(this.layout.referrer(repository, record.subject, digest), syncs);
    await this.remove(this.layout.manifestRecord(repository, digest), syncs);
    await this.remove(this.layout.manifestBody(repository, digest), syncs);
    await syncs.flush();
    return true;
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return (await this.tagIndex(repository)).get(tag);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const tags = await this.tagIndex(repository);
    return this.mutex.run(`tags:${repository}`, async () => {
      if (tags.get(tag) === undefined) return false;
      await this.remove(this.layout.tag(repository, tag));
      tags.delete(tag);
      return true;
    });
  }

  async listTags(repository: string, page: PageRequest): Promise<Page<string>> {
    return (await this.tagIndex(repository)).names.page(page.limit, page.after);
  }

  async listReferrers(repository: string, subject: string): Promise<Descriptor[]> {
    const dir = this.layout.referrers(repository, subject);
    const files = await listDir(dir);
    const descriptors = await Promise.all(files.map((file) => readJson<Descriptor>(join(dir, file))));
    return descriptors.filter((d): d is Descriptor => d !== undefined);
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

  private tagIndex(repository: string): Promise<TagIndex> {
    let index = this.tagIndexes.get(repository);
    if (!index) {
      index = TagIndex.load(this.layout.tags(repository));
      this.tagIndexes.set(repository, index);
      index.catch(() => this.tagIndexes.delete(repository));
    }
    return index;
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

  /** Sessions past their expiry, for the sweeper that reclaims abandoned uploads. */
  async expiredUploads(nowSeconds: number): Promise<UploadSession[]> {
    const files = await listDir(this.layout.uploadSessionsRoot);
    const sessions = await Promise.all(files.map((file) => readJson<UploadSession>(join(this.layout.uploadSessionsRoot, file))));
    return sessions.filter((s): s is UploadSession => s !== undefined && s.expiresAt <= nowSeconds);
  }
}

/** A repository's tags, name → digest, with a sorted view for paging. */
class TagIndex {
  readonly names: SortedSet;
  private constructor(private readonly digests: Map<string, string>) {
    this.names = new SortedSet(digests.keys());
  }

  static async load(dir: string): Promise<TagIndex> {
    const files = await listDir(dir);
    const entries = await Promise.all(files.map(async (file) => [unescapeTag(file), (await readText(join(dir, file)))?.trim()] as const));
    return new TagIndex(new Map(entries.filter((e): e is readonly [string, string] => Boolean(e[1]))));
  }

  get(tag: string): string | undefined {
    return this.digests.get(tag);
  }
  set(tag: string, digest: string): void {
    this.digests.set(tag, digest);
    this.names.add(tag);
  }
  delete(tag: string): void {
    this.digests.delete(tag);
    this.names.delete(tag);
  }
  pointingTo(digest: string): string[] {
    return [...this.digests].filter(([, d]) => d === digest).map(([tag]) => tag);
  }
}

function referrerDescriptor(manifest: ManifestRecord): Descriptor {
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return descriptor;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
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

