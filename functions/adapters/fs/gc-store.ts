import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobVerdict, GcReview, GcStore, Paged } from '../../core/gc/ports';
import { readJson, readText, removeFile } from './atomic';
import { exists, listDir } from './files';
import { sweepOrphanBlobs, sweepAbandonedUploads, walkBlobRecords } from './gc-sweeps';
import type { KeyedMutex } from './keyed-mutex';
import type { FsMetadataStore } from './metadata-store';
import { DataLayout, holderOfFile, unescapeRepository } from './paths';

export interface FsGcStoreOptions {
  readonly metadata: FsMetadataStore;
  /** The per-digest locks the registry holds around upload completion and mounts (RegistryDeps.blobLocks). */
  readonly locks: KeyedMutex;
  /** Flush removals to disk. @default true */
  readonly fsync?: boolean;
}

/**
 * Online garbage collection on local disk (gc/ports.ts is the design; layout in paths.ts).
 * A blob's record, links and bytes go under its digest's lock, which upload completion and
 * mounts also hold, and each link goes under its repository's lock with the check that no
 * stored manifest uses it, which putManifest also holds. One server per data dir (its lock
 * file) makes in-process locks enough.
 */
export class FsGcStore implements GcStore {
  private readonly layout: DataLayout;
  private readonly metadata: FsMetadataStore;
  private readonly locks: KeyedMutex;
  private readonly fsync: boolean;
  private readonly legacy = new Map<string, Promise<boolean>>();

  constructor(root: string, options: FsGcStoreOptions) {
    this.layout = new DataLayout(root);
    this.metadata = options.metadata;
    this.locks = options.locks;
    this.fsync = options.fsync ?? true;
  }

  dueReviews(cutoff: number, limit: number, after?: string): Promise<Paged<GcReview>> {
    return this.metadata.reviews.due(cutoff, limit, after);
  }

  settleReview(review: GcReview): Promise<void> {
    return this.metadata.reviews.settle(review);
  }

  listBlobs(limit: number, after?: string): Promise<Paged<string>> {
    return walkBlobRecords(this.layout.blobRecordsRoot, limit, after);
  }

  async inspectBlob(digest: string, cutoff: number): Promise<BlobVerdict> {
    if (this.locks.held(digest)) return { state: 'busy' };
    return this.verdict(digest, cutoff);
  }

  async collectBlob(digest: string, cutoff: number): Promise<BlobVerdict> {
    // An upload completing into it (or a mount) holds the lock: not now, a later pass looks again.
    if (this.locks.held(digest)) return { state: 'busy' };
    return this.locks.run(digest, async () => {
      const verdict = await this.verdict(digest, cutoff);
      if (verdict.state !== 'garbage') return verdict;
      for (const { repository } of await this.links(digest)) {
        // A manifest stored since the verdict keeps it; links already removed were unused.
        if (!(await this.metadata.unlinkUnused(repository, digest))) return { state: 'referenced' };
      }
      await this.metadata.deleteBlob(digest);
      await removeFile(this.layout.blob(digest), { fsync: this.fsync });
      return verdict;
    });
  }

  sweepUploads(cutoff: number, dryRun: boolean, _full: boolean): Promise<{ uploads: number; bytes: number }> {
    return sweepAbandonedUploads({ layout: this.layout, metadata: this.metadata, now: this.metadata.clock.now(), cutoff, dryRun });
  }

  sweepOrphans(cutoff: number, dryRun: boolean): Promise<{ objects: number; bytes: number }> {
    return sweepOrphanBlobs({
      layout: this.layout, cutoff, dryRun,
      removeIfOrphan: (digest) => this.locks.run(digest, async () => {
        if (await this.metadata.getBlob(digest)) return false;
        return removeFile(this.layout.blob(digest), { fsync: this.fsync });
      }),
    });
  }

  /** The verdict from the files as they are now; collectBlob calls it under the digest's lock. */
  private async verdict(digest: string, cutoff: number): Promise<BlobVerdict> {
    const record = await this.metadata.getBlob(digest);
    if (!record) return { state: 'absent' };
    const links = await this.links(digest);
    for (const { repository } of links) {
      if ((await this.usedIn(repository, digest)) || (await this.holdsLegacyManifests(repository))) return { state: 'referenced' };
    }
    const released = (await this.metadata.reviews.blobReviewAt(digest)) ?? 0;
    const touched = Math.max(record.createdAt, released, ...links.map((link) => link.at));
    if (touched > cutoff) return { state: 'recent' };
    return { state: 'garbage', size: record.size };
  }

  /** The repositories linking the blob, and when each last linked it. */
  private async links(digest: string): Promise<Array<{ repository: string; at: number }>> {
    const dir = this.layout.blobRepos(digest);
    const links: Array<{ repository: string; at: number }> = [];
    for (const file of await listDir(dir)) {
      const path = join(dir, file);
      const text = await readText(path);
      if (text === undefined) continue; // unlinked meanwhile
      // Written by versions before the collector: empty, so the file's own time tells.
      const at = text === '' ? ((await stat(path).catch(() => undefined))?.mtimeMs ?? Number.MAX_SAFE_INTEGER) : Number(text);
      links.push({ repository: unescapeRepository(file), at: Number.isFinite(at) ? at : Number.MAX_SAFE_INTEGER });
    }
    return links;
  }

  /**
   * Whether the repository holds manifests stored before references were recorded: what
   * they use is unknown, so nothing linked there is collected. Looked up once per repository
   * (manifests stored since always record their references).
   */
  private holdsLegacyManifests(repository: string): Promise<boolean> {
    let found = this.legacy.get(repository);
    if (!found) {
      found = findLegacyManifest(join(this.layout.repository(repository), '_manifests'));
      this.legacy.set(repository, found);
    }
    return found;
  }

  /** Whether a manifest stored in the repository uses the blob (a reference file whose holder has a record). */
  private async usedIn(repository: string, digest: string): Promise<boolean> {
    const dir = this.layout.references(repository, 'blobs', digest);
    for (const file of await listDir(dir)) {
      if (await exists(this.layout.manifestRecord(repository, holderOfFile(file)))) return true;
    }
    return false;
  }
}

async function findLegacyManifest(manifests: string): Promise<boolean> {
  for (const alg of await listDir(manifests)) {
    for (const file of await listDir(join(manifests, alg))) {
      if (!file.endsWith('.json')) continue;
      const record = await readJson<{ references?: unknown }>(join(manifests, alg, file));
      if (record && record.references === undefined) return true;
    }
  }
  return false;
}
