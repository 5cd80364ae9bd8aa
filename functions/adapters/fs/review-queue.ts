import { join } from 'node:path';
import type { GcReview, Paged } from '../../core/gc/ports';
import { readText, type DirectorySyncs } from './atomic';
import { listDir } from './files';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout, unescapeRepository } from './paths';

/** The durable writes of the metadata store the queue's files go through. */
export interface QueueFiles {
  write(path: string, data: string, syncs?: DirectorySyncs): Promise<void>;
  remove(path: string, syncs?: DirectorySyncs): Promise<boolean>;
}

/** What the garbage collector needs told (gc/ports.ts): when, and what may have become garbage. */
export interface GcHooks {
  now(): number;
  readonly reviews: ReviewQueue;
}

/**
 * The garbage collector's review queue under meta/gc/ (layout in paths.ts). One file per
 * blob, holding the time of the latest change, so a blob released again is reviewed once,
 * and later. Queueing and settling one file are serialised, so settling never removes a
 * review queued again after the collector read it.
 */
export class ReviewQueue {
  private readonly mutex = new KeyedMutex();
  /** The due reviews of the listing being paged through. */
  private listing: { cutoff: number; reviews: GcReview[] } | undefined;

  constructor(private readonly layout: DataLayout, private readonly files: QueueFiles) {}

  queueBlob(digest: string, at: number, syncs?: DirectorySyncs): Promise<void> {
    const path = this.layout.gcBlobReview(digest);
    return this.mutex.run(path, () => this.files.write(path, String(at), syncs));
  }

  queueReferrers(repository: string, subject: string, at: number, syncs?: DirectorySyncs): Promise<void> {
    const path = this.layout.gcReferrersReview(repository, subject);
    return this.mutex.run(path, () => this.files.write(path, String(at), syncs));
  }

  /** When the blob's pending review was queued (its latest release), if it has one. */
  async blobReviewAt(digest: string): Promise<number | undefined> {
    return timeIn(await readText(this.layout.gcBlobReview(digest)));
  }

  /** Removes the review unless it was queued again since it was read. */
  async settle(review: GcReview): Promise<void> {
    const path = this.pathOf(review);
    await this.mutex.run(path, async () => {
      if (timeIn(await readText(path)) === review.at) await this.files.remove(path);
    });
  }

  /**
   * Reviews with `at` ≤ cutoff, oldest first; costs what is queued, not what is stored. The
   * first page reads the queue once; the following pages of that listing page through what it
   * read (a review settled meanwhile comes up once more, and settles as absent or referenced).
   */
  async due(cutoff: number, limit: number, after?: string): Promise<Paged<GcReview>> {
    if (after === undefined || this.listing?.cutoff !== cutoff) {
      this.listing = { cutoff, reviews: (await this.all()).filter((review) => review.at <= cutoff).sort(byAge) };
    }
    const all = this.listing.reviews;
    const start = after === undefined ? 0 : all.findIndex((review) => cursorOf(review) > after);
    const items = start < 0 ? [] : all.slice(start, start + limit);
    const last = items.at(-1);
    return { items, ...(last && start + limit < all.length ? { next: cursorOf(last) } : {}) };
  }

  private pathOf(review: GcReview): string {
    return review.kind === 'blob'
      ? this.layout.gcBlobReview(review.digest)
      : this.layout.gcReferrersReview(review.repository ?? '', review.digest);
  }

  private async all(): Promise<GcReview[]> {
    const reviews: GcReview[] = [];
    const blobs = this.layout.gcBlobReviewsRoot;
    for (const alg of await listDir(blobs)) {
      for (const hex of await listDir(join(blobs, alg))) {
        const at = timeIn(await readText(join(blobs, alg, hex)));
        if (at !== undefined) reviews.push({ id: `blob ${alg}:${hex}`, kind: 'blob', digest: `${alg}:${hex}`, at });
      }
    }
    const referrers = this.layout.gcReferrersReviewsRoot;
    for (const alg of await listDir(referrers)) {
      for (const hex of await listDir(join(referrers, alg))) {
        for (const repo of await listDir(join(referrers, alg, hex))) {
          const at = timeIn(await readText(join(referrers, alg, hex, repo)));
          const repository = unescapeRepository(repo);
          if (at !== undefined) reviews.push({ id: `referrers ${alg}:${hex} ${repository}`, kind: 'referrers', digest: `${alg}:${hex}`, repository, at });
        }
      }
    }
    return reviews;
  }
}

function timeIn(text: string | undefined): number | undefined {
  const at = text === undefined ? NaN : Number(text);
  return Number.isFinite(at) ? at : undefined;
}

/** Sorts like the queue's order: time, then id. Times are padded so text order is time order. */
function cursorOf(review: GcReview): string {
  return `${String(review.at).padStart(16, '0')} ${review.id}`;
}

function byAge(a: GcReview, b: GcReview): number {
  const left = cursorOf(a);
  const right = cursorOf(b);
  return left < right ? -1 : left > right ? 1 : 0;
}
