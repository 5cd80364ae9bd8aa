import type { GcReport } from './ports';

/** The report lists at most this many deleted blobs; the counts cover all of them. */
export const REPORTED_DIGESTS = 1000;

/** What a pass has done so far; becomes its GcReport. */
export class GcTally {
  reviewed = 0;
  blobsDeleted = 0;
  bytesFreed = 0;
  referrersDeleted = 0;
  uploadsSwept = 0;
  uploadBytesFreed = 0;
  orphansDeleted = 0;
  orphanBytesFreed = 0;
  complete = true;
  private readonly deleted: Array<{ digest: string; size: number }> = [];
  /** Blobs decided in this pass (a review and the full walk may both name one). */
  private readonly seen = new Set<string>();

  constructor(readonly dryRun: boolean, readonly full: boolean, private readonly startedAt: number) {}

  /** True the first time a digest comes up in this pass. */
  firstLook(digest: string): boolean {
    if (this.seen.has(digest)) return false;
    this.seen.add(digest);
    return true;
  }

  blobDeleted(digest: string, size: number): void {
    this.blobsDeleted++;
    this.bytesFreed += size;
    if (this.deleted.length < REPORTED_DIGESTS) this.deleted.push({ digest, size });
  }

  report(now: number): GcReport {
    return {
      dryRun: this.dryRun,
      full: this.full,
      complete: this.complete,
      durationMs: Math.max(0, now - this.startedAt),
      reviewed: this.reviewed,
      blobsDeleted: this.blobsDeleted,
      bytesFreed: this.bytesFreed,
      deleted: [...this.deleted],
      referrersDeleted: this.referrersDeleted,
      uploadsSwept: this.uploadsSwept,
      uploadBytesFreed: this.uploadBytesFreed,
      orphansDeleted: this.orphansDeleted,
      orphanBytesFreed: this.orphanBytesFreed,
    };
  }
}
