import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor, FoundReferences, ManifestRecord, ManifestReferences, Page, PageRequest, BlobRecord } from '../../core/index';
import { forEachLimited, StoreInUseError, StoreReferenceMissingError, type ReferenceKind } from '../../core/index';
import { isNotFound, readJson, removeFile } from './atomic';
import { exists, listDir } from './files';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout, escapeRepository, holderOfFile } from './paths';
import { TagIndex } from './tag-index';

/** A manifest record on disk: everything but the body, plus what it references. */
type StoredManifest = Omit<ManifestRecord, 'body'> & { references?: ManifestReferences };

/** Files touched at once when checking or recording thousands of references. */
const FILE_CONCURRENCY = 32;

type Write = (path: string, data: Uint8Array | string) => Promise<void>;

/**
 * Everything under one repository: blob links, manifests, tags, referrers and the reference
 * files that say which manifest uses which blob or child manifest (layout in paths.ts).
 *
 * One in-process lock per repository serialises every write that could break an invariant
 * (ports.ts): manifest put/delete, tag put/delete and blob link/unlink. So checking that a
 * reference exists and recording it cannot interleave with removing it. Reads take no lock:
 * every file is replaced by rename, and a manifest is visible once its record exists, which
 * is written after its body and reference files, and removed before them.
 */
export class RepositoryFiles {
  private readonly locks = new KeyedMutex();
  private readonly tagIndexes = new Map<string, Promise<TagIndex>>();

  constructor(private readonly layout: DataLayout, private readonly write: Write) {}

  // Blob links

  async link(repository: string, digest: string): Promise<void> {
    await this.exclusive(repository, async () => {
      await this.write(this.layout.link(repository, digest), '');
      await this.write(join(this.layout.blobRepos(digest), escapeRepository(repository)), '');
    });
  }

  isLinked(repository: string, digest: string): Promise<boolean> {
    return exists(this.layout.link(repository, digest));
  }

  unlink(repository: string, digest: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const holder = await this.liveHolder(repository, 'blobs', digest);
      if (holder) throw new StoreInUseError('blob', digest, holder);
      const removed = await removeFile(this.layout.link(repository, digest));
      await removeFile(join(this.layout.blobRepos(digest), escapeRepository(repository)));
      return removed;
    });
  }

  // Manifests

  async findReferences(repository: string, references: ManifestReferences): Promise<FoundReferences> {
    const found: FoundReferences = { blobs: new Map(), manifests: new Map() };
    await forEachLimited(references.blobs, FILE_CONCURRENCY, async (digest) => {
      const [linked, record] = await Promise.all([this.isLinked(repository, digest), readJson<BlobRecord>(this.layout.blobRecord(digest))]);
      if (linked && record) found.blobs.set(digest, record);
    });
    await forEachLimited(references.manifests, FILE_CONCURRENCY, async (digest) => {
      const record = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
      if (record) found.manifests.set(digest, { size: record.size, mediaType: record.mediaType });
    });
    return found;
  }

  async put(repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string): Promise<void> {
    await this.exclusive(repository, async () => {
      const current = await readJson<StoredManifest>(this.layout.manifestRecord(repository, manifest.digest));
      // Stored already with its references: only the tag changes. (Records written before
      // references were recorded get them now.)
      if (!current?.references) await this.create(repository, manifest, references);
      if (tag !== undefined) {
        const tags = await this.tagIndex(repository);
        await this.write(this.layout.tag(repository, tag), manifest.digest);
        tags.set(tag, manifest.digest);
      }
    });
  }

  async get(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const stored = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
    if (!stored) return undefined;
    try {
      const body = new Uint8Array(await readFile(this.layout.manifestBody(repository, digest)));
      const { references: _references, ...record } = stored;
      return { ...record, body };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  delete(repository: string, digest: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const stored = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
      if (!stored) return false;
      const holder = await this.liveHolder(repository, 'manifests', digest);
      if (holder) throw new StoreInUseError('manifest', digest, holder);
      const tags = await this.tagIndex(repository);
      for (const tag of tags.pointingTo(digest)) {
        await removeFile(this.layout.tag(repository, tag));
        tags.delete(tag);
      }
      if (stored.subject) await removeFile(this.layout.referrer(repository, stored.subject, digest));
      // Invisible first, then its references: a crash in between leaves only leftovers.
      await removeFile(this.layout.manifestRecord(repository, digest));
      await removeFile(this.layout.manifestBody(repository, digest));
      await this.forEachReference(repository, digest, stored.references, (path) => removeFile(path));
      return true;
    });
  }

  // Tags and referrers

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return (await this.tagIndex(repository)).get(tag);
  }

  deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const tags = await this.tagIndex(repository);
      if (tags.get(tag) === undefined) return false;
      await removeFile(this.layout.tag(repository, tag));
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

  private exclusive<T>(repository: string, section: () => Promise<T>): Promise<T> {
    return this.locks.run(repository, section);
  }

  /** Verifies every reference under the lock, writes the reference files, then makes the manifest visible. */
  private async create(repository: string, manifest: ManifestRecord, references: ManifestReferences): Promise<void> {
    await this.requireReferences(repository, references);
    await this.forEachReference(repository, manifest.digest, references, (path) => this.write(path, ''));
    const { body, ...record } = manifest;
    await this.write(this.layout.manifestBody(repository, manifest.digest), body);
    const stored: StoredManifest = { ...record, references: { blobs: [...references.blobs], manifests: [...references.manifests] } };
    await this.write(this.layout.manifestRecord(repository, manifest.digest), JSON.stringify(stored));
    if (manifest.subject) {
      await this.write(this.layout.referrer(repository, manifest.subject, manifest.digest), JSON.stringify(referrerDescriptor(manifest)));
    }
  }

  private async requireReferences(repository: string, references: ManifestReferences): Promise<void> {
    let missing: { kind: ReferenceKind; digest: string } | undefined;
    await forEachLimited(references.blobs, FILE_CONCURRENCY, async (digest) => {
      const present = await this.isLinked(repository, digest) && await exists(this.layout.blobRecord(digest));
      if (!present) missing ??= { kind: 'blob', digest };
    });
    await forEachLimited(references.manifests, FILE_CONCURRENCY, async (digest) => {
      if (!(await exists(this.layout.manifestRecord(repository, digest)))) missing ??= { kind: 'manifest', digest };
    });
    if (missing) throw new StoreReferenceMissingError(missing.kind, missing.digest);
  }

  private async forEachReference(
    repository: string, holder: string, references: ManifestReferences | undefined, act: (path: string) => Promise<unknown>,
  ): Promise<void> {
    if (!references) return;
    const paths = [
      ...references.blobs.map((digest) => this.layout.reference(repository, 'blobs', digest, holder)),
      ...references.manifests.map((digest) => this.layout.reference(repository, 'manifests', digest, holder)),
    ];
    await forEachLimited(paths, FILE_CONCURRENCY, async (path) => {
      await act(path);
    });
  }

  /**
   * A manifest stored in the repository that references `target`, if any. Under the lock no
   * put or delete is in flight, so a reference file whose holder has no record is a crash's
   * leftover: it is removed, not counted.
   */
  private async liveHolder(repository: string, kind: 'blobs' | 'manifests', target: string): Promise<string | undefined> {
    const dir = this.layout.references(repository, kind, target);
    for (const file of await listDir(dir)) {
      const holder = holderOfFile(file);
      if (await exists(this.layout.manifestRecord(repository, holder))) return holder;
      await removeFile(join(dir, file));
    }
    return undefined;
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
}

function referrerDescriptor(manifest: ManifestRecord): Descriptor {
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return descriptor;
}
