import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Descriptor, DeleteManifestOptions, FoundReferences, ManifestRecord, ManifestReferences, Page, PageRequest, PutManifestOptions, BlobRecord,
} from '../../core/index';
import { forEachLimited, referrerDescriptorOf, StoreInUseError, StoreReferenceMissingError, StoreTagConflictError, type ReferenceKind } from '../../core/index';
import { isNotFound, readJson, type DurableFiles } from './atomic';
import { exists, listDir } from './files';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout, escapeRepository, holderOfFile } from './paths';
import { TagIndex } from './tag-index';
import type { GcHooks } from './review-queue';
import { TagTimes } from './tag-times';

/** A manifest record on disk: everything but the body, plus what it references. */
type StoredManifest = Omit<ManifestRecord, 'body'> & { references?: ManifestReferences };

/** Files touched at once when checking or recording thousands of references. */
const FILE_CONCURRENCY = 32;

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
  /** Push and pull times of tags, for retention. */
  readonly times: TagTimes;

  constructor(private readonly layout: DataLayout, private readonly files: DurableFiles, private readonly gc: GcHooks) {
    this.times = new TagTimes(layout, (path, data) => files.write(path, data), (path) => files.remove(path));
  }

  // Blob links

  async link(repository: string, digest: string): Promise<void> {
    await this.exclusive(repository, async () => {
      const syncs = this.files.batch();
      await this.files.write(this.layout.link(repository, digest), '', syncs);
      // When it was linked: a blob linked (or mounted) again is recent for the collector.
      await this.files.write(join(this.layout.blobRepos(digest), escapeRepository(repository)), String(this.gc.now()), syncs);
      await syncs.flush();
    });
  }

  isLinked(repository: string, digest: string): Promise<boolean> {
    return exists(this.layout.link(repository, digest));
  }

  unlink(repository: string, digest: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const holder = await this.liveHolder(repository, 'blobs', digest);
      if (holder) throw new StoreInUseError('blob', digest, holder);
      // Reviewed before it goes: its bytes are freed by a pass after the safety window.
      if (await this.isLinked(repository, digest)) await this.gc.reviews.queueBlob(digest, this.gc.now());
      return this.removeLink(repository, digest);
    });
  }

  /** The collector's unlink: false (and nothing changes) while a stored manifest uses the blob. */
  unlinkUnused(repository: string, digest: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      if (await this.liveHolder(repository, 'blobs', digest)) return false;
      await this.removeLink(repository, digest);
      return true;
    });
  }

  private async removeLink(repository: string, digest: string): Promise<boolean> {
    const syncs = this.files.batch();
    const removed = await this.files.remove(this.layout.link(repository, digest), syncs);
    await this.files.remove(join(this.layout.blobRepos(digest), escapeRepository(repository)), syncs);
    await syncs.flush();
    return removed;
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

  async put(repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string, options?: PutManifestOptions): Promise<void> {
    await this.exclusive(repository, async () => {
      // Immutable tags: refused under the lock, before anything is written.
      const tagged = tag === undefined || !options?.keepTag ? undefined : (await this.tagIndex(repository)).get(tag);
      if (tag !== undefined && tagged !== undefined && tagged !== manifest.digest) throw new StoreTagConflictError(tag, tagged);
      const current = await readJson<StoredManifest>(this.layout.manifestRecord(repository, manifest.digest));
      // Stored already with its references: only the tag changes. (Records written before
      // references were recorded get them now.)
      if (!current?.references) await this.create(repository, manifest, references, options?.deferReferences === true);
      if (tag !== undefined) {
        const tags = await this.tagIndex(repository);
        // After the manifest is flushed (create): a tag to nothing must not survive a power loss.
        await this.files.write(this.layout.tag(repository, tag), manifest.digest);
        tags.set(tag, manifest.digest);
        await this.times.pushed(repository, tag, manifest.digest, manifest.createdAt);
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

  delete(repository: string, digest: string, options?: DeleteManifestOptions): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const stored = await readJson<StoredManifest>(this.layout.manifestRecord(repository, digest));
      if (!stored) return false;
      const pointing = options?.untaggedOnly || options?.refuseTag ? (await this.tagIndex(repository)).pointingTo(digest) : [];
      const tagged = options?.untaggedOnly ? pointing[0] : pointing.find((tag) => options?.refuseTag?.(tag));
      if (tagged !== undefined) throw new StoreTagConflictError(tagged, digest);
      const holder = await this.liveHolder(repository, 'manifests', digest);
      if (holder) throw new StoreInUseError('manifest', digest, holder);
      await this.queueReleased(repository, digest, stored.references);
      const tags = await this.tagIndex(repository);
      // The tags go (flushed) before the manifest: a tag to nothing must not survive a power loss.
      const untagged = this.files.batch();
      for (const tag of tags.pointingTo(digest)) {
        await this.files.remove(this.layout.tag(repository, tag), untagged);
        tags.delete(tag);
        await this.times.forget(repository, tag);
      }
      await untagged.flush();
      // Invisible first, then its references: a crash in between leaves only leftovers.
      const syncs = this.files.batch();
      if (stored.subject) await this.files.remove(this.layout.referrer(repository, stored.subject, digest), syncs);
      await this.files.remove(this.layout.manifestRecord(repository, digest), syncs);
      await syncs.flush();
      const leftovers = this.files.batch();
      await this.files.remove(this.layout.manifestBody(repository, digest), leftovers);
      await this.forEachReference(repository, digest, stored.references, (path) => this.files.remove(path, leftovers));
      await leftovers.flush();
      return true;
    });
  }

  /** Before a manifest goes: a review of each blob it used, and of its referrers. */
  private async queueReleased(repository: string, digest: string, references: ManifestReferences | undefined): Promise<void> {
    const at = this.gc.now();
    const syncs = this.files.batch();
    await this.gc.reviews.queueReferrers(repository, digest, at, syncs);
    await forEachLimited(references?.blobs ?? [], FILE_CONCURRENCY, (blob) => this.gc.reviews.queueBlob(blob, at, syncs));
    await syncs.flush();
  }

  // Tags and referrers

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    return (await this.tagIndex(repository)).get(tag);
  }

  deleteTag(repository: string, tag: string, expected?: string): Promise<boolean> {
    return this.exclusive(repository, async () => {
      const tags = await this.tagIndex(repository);
      const current = tags.get(tag);
      if (current === undefined || (expected !== undefined && current !== expected)) return false;
      await this.files.remove(this.layout.tag(repository, tag));
      tags.delete(tag);
      await this.times.forget(repository, tag);
      return true;
    });
  }

  /** Every tag with its digest (retention). */
  async tagEntries(repository: string): Promise<Array<[string, string]>> {
    return (await this.tagIndex(repository)).entries();
  }

  /** resolveTag for a pull, recording its time at most daily; a failure to record never fails the pull. */
  async resolvePulledTag(repository: string, tag: string, now: number): Promise<string | undefined> {
    const digest = await this.resolveTag(repository, tag);
    if (digest === undefined || !this.times.pullDue(repository, tag, now)) return digest;
    await this.exclusive(repository, async () => {
      if ((await this.resolveTag(repository, tag)) === digest) await this.times.pulled(repository, tag, digest, now);
    }).catch(() => undefined);
    return digest;
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

  /**
   * Verifies every reference under the lock, writes the reference files, then makes the
   * manifest visible; all flushed (one fsync per directory) before put writes a tag.
   */
  private async create(repository: string, manifest: ManifestRecord, references: ManifestReferences, deferred: boolean): Promise<void> {
    if (!deferred) await this.requireReferences(repository, references);
    const syncs = this.files.batch();
    await this.forEachReference(repository, manifest.digest, references, (path) => this.files.write(path, '', syncs));
    const { body, ...record } = manifest;
    await this.files.write(this.layout.manifestBody(repository, manifest.digest), body, syncs);
    const stored: StoredManifest = { ...record, references: { blobs: [...references.blobs], manifests: [...references.manifests] } };
    await this.files.write(this.layout.manifestRecord(repository, manifest.digest), JSON.stringify(stored), syncs);
    if (manifest.subject) {
      const referrer = this.layout.referrer(repository, manifest.subject, manifest.digest);
      await this.files.write(referrer, JSON.stringify(referrerDescriptorOf(manifest)), syncs);
    }
    await syncs.flush();
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
      await this.files.remove(join(dir, file));
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
