/**
 * Online garbage collection: what a store provides so that the core's collector
 * (runner.ts) can free blob bytes while pushes and pulls go on, on disk and on AWS.
 *
 * Incremental by review queue (as GitLab's online GC): whenever something may have become
 * garbage, the store queues a review in the same write that caused it, so a pass costs what
 * changed since the last one, not the number of blobs. Reviews are queued when
 *  - a blob record is created (a pushed blob no manifest ever uses must go too);
 *  - a blob link is removed (DELETE /v2/<name>/blobs/<digest>, or GC itself);
 *  - a manifest is deleted: one review per blob its deleted generation referenced, and one
 *    `referrers` review for the deleted digest (referrers live as long as their subject).
 * A full pass (`full`) walks every blob instead, and also sweeps orphaned bytes.
 *
 * The safety window: a blob is garbage only when nothing touched it after `cutoff`
 * (now − minimum age, 24 h by default): not stored, linked, mounted or released by a
 * manifest since then. An upload completing into it makes it busy.
 */

/** Something that may have become garbage, as the review queue holds it. */
export interface GcReview {
  /** Store-specific and opaque; handed back to settleReview. */
  readonly id: string;
  readonly kind: 'blob' | 'referrers';
  /** `blob`: the blob's digest. `referrers`: the digest of the deleted subject manifest. */
  readonly digest: string;
  /** `referrers`: the repository the subject was deleted from. */
  readonly repository?: string;
  /** Epoch ms of the change that queued it. */
  readonly at: number;
}

/** What a store decides about one blob. */
export type BlobVerdict =
  /** Unreferenced, untouched since the cutoff, and not being uploaded: it goes (or went). */
  | { readonly state: 'garbage'; readonly size: number }
  /** A manifest in some repository references it: kept; the review is settled, since removing
   * that reference queues a new one. */
  | { readonly state: 'referenced' }
  /** Unreferenced but touched after the cutoff, or an upload is completing into it: the review
   * stays queued for a later pass. */
  | { readonly state: 'recent' | 'busy' }
  /** No blob record: already collected, or never stored. */
  | { readonly state: 'absent' };

export interface Paged<T> {
  readonly items: T[];
  /** Continues the listing; undefined at the end. */
  readonly next?: string;
}

export interface GcStore {
  /** Reviews with `at` ≤ cutoff, oldest first. */
  dueReviews(cutoff: number, limit: number, after?: string): Promise<Paged<GcReview>>;
  /** Removes a handled review. Safe to repeat. */
  settleReview(review: GcReview): Promise<void>;
  /** Every blob digest, for a full pass. */
  listBlobs(limit: number, after?: string): Promise<Paged<string>>;
  /** The verdict collectBlob would reach now, without changing anything (dry runs). */
  inspectBlob(digest: string, cutoff: number): Promise<BlobVerdict>;
  /**
   * Deletes the blob's links, its record, then its bytes, if it is garbage, atomically with
   * respect to linkBlob, mounts, putManifest and upload completion: a push that races it
   * either keeps the blob or stores it again, and never ends with a manifest or link that
   * points at deleted bytes. Returns the verdict it acted on. Safe to repeat, and to run
   * concurrently with itself (another process collecting the same blob).
   */
  collectBlob(digest: string, cutoff: number): Promise<BlobVerdict>;
  /**
   * Abandoned uploads: sessions idle since before `cutoff` and everything they hold
   * (parts, staged tails, upload directories, S3 multipart uploads). An incremental pass
   * (`full` false) may find them through what they hold rather than by walking every session
   * record, so that its cost follows the uploads in storage, not the size of the store; a full
   * pass also removes expired session records that hold nothing.
   */
  sweepUploads(cutoff: number, dryRun: boolean, full: boolean): Promise<{ uploads: number; bytes: number }>;
  /** Full passes only: stored bytes no record points to (leftovers of crashes or lost races), older than `cutoff`. */
  sweepOrphans(cutoff: number, dryRun: boolean): Promise<{ objects: number; bytes: number }>;
}

export interface GcOptions {
  /** The safety window in ms: only what was untouched for this long is collected. @default 24 h */
  readonly minAgeMs?: number;
  /** Report what would go, change nothing. */
  readonly dryRun?: boolean;
  /** Mark and sweep every blob, not only the review queue; also sweeps orphaned bytes. */
  readonly full?: boolean;
  /** Epoch ms to stop by (a Lambda's 15 minutes): the pass returns complete=false, and the next one resumes. */
  readonly deadline?: number;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly full: boolean;
  /** False when the deadline stopped the pass early; run again to go on. */
  readonly complete: boolean;
  readonly durationMs: number;
  readonly reviewed: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
  /** The deleted (or, dry, deletable) blobs, at most the first 1,000. */
  readonly deleted: ReadonlyArray<{ digest: string; size: number }>;
  readonly referrersDeleted: number;
  readonly uploadsSwept: number;
  readonly uploadBytesFreed: number;
  readonly orphansDeleted: number;
  readonly orphanBytesFreed: number;
}

export const DEFAULT_GC_MIN_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Per-digest exclusion, for stores where upload completion and collectBlob act on the same
 * bytes (the fs store: blobs are content-addressed files). The core holds it around an upload's
 * completion (record check, bytes, record, link) and a mount's check-and-link, and the store
 * holds it in collectBlob, so neither can interleave with the other.
 */
export interface BlobLocks {
  run<T>(digest: string, section: () => Promise<T>): Promise<T>;
}
