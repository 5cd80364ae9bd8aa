import type { Clock, Logger, MetadataStore } from '../ports';
import { decideBlob, handleReview, type PassContext } from './collect';
import { DEFAULT_GC_MIN_AGE_MS, type GcOptions, type GcReport, type GcStore } from './ports';
import { GcTally } from './tally';
import type { WebhookEvents } from '../events/services';

export interface GcDeps {
  readonly gc: GcStore;
  readonly metadata: MetadataStore;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Webhooks: referrers a pass deletes are reported (io.nimbus.manifest.deleted, reason "gc"). */
  readonly events?: WebhookEvents;
}

/** Reviews and blobs asked for per store call. */
const PAGE = 500;

/**
 * One garbage collection pass (gc/ports.ts is the design). Incremental: it handles the due
 * reviews; `full` also walks every blob and sweeps orphaned bytes. Abandoned uploads are
 * swept every time. The cutoff lies strictly before the pass started, so nothing the pass
 * itself changes (a referrer it deletes queues reviews) is due within it: a dry run then
 * names exactly the blobs a real run deletes.
 */
export async function runGc(deps: GcDeps, options: GcOptions): Promise<GcReport> {
  const startedAt = deps.clock.now();
  const minAge = Math.max(0, options.minAgeMs ?? DEFAULT_GC_MIN_AGE_MS);
  const tally = new GcTally(options.dryRun ?? false, options.full ?? false, startedAt);
  const pass: PassContext = {
    gc: deps.gc, metadata: deps.metadata, clock: deps.clock, logger: deps.logger, events: deps.events,
    cutoff: startedAt - minAge - 1, dryRun: tally.dryRun, tally,
  };
  const inTime = () => options.deadline === undefined || deps.clock.now() < options.deadline;
  tally.complete = (await reviewQueue(pass, inTime)) && (!tally.full || (await everyBlob(pass, inTime)));
  if (tally.complete && tally.full) {
    const orphans = await deps.gc.sweepOrphans(pass.cutoff, tally.dryRun);
    tally.orphansDeleted = orphans.objects;
    tally.orphanBytesFreed = orphans.bytes;
  }
  if (inTime()) {
    const uploads = await deps.gc.sweepUploads(pass.cutoff, tally.dryRun, tally.full);
    tally.uploadsSwept = uploads.uploads;
    tally.uploadBytesFreed = uploads.bytes;
  } else {
    tally.complete = false;
  }
  const report = tally.report(deps.clock.now());
  deps.logger?.log('info', 'gc pass done', { ...report, deleted: report.deleted.length });
  return report;
}

/** Handles every due review; false when the deadline stopped it. */
async function reviewQueue(pass: PassContext, inTime: () => boolean): Promise<boolean> {
  let after: string | undefined;
  do {
    const page = await pass.gc.dueReviews(pass.cutoff, PAGE, after);
    for (const review of page.items) {
      if (!inTime()) return false;
      await handleReview(pass, review);
    }
    after = page.next;
  } while (after !== undefined);
  return true;
}

/** Mark and sweep: every blob is looked at; false when the deadline stopped it. */
async function everyBlob(pass: PassContext, inTime: () => boolean): Promise<boolean> {
  let after: string | undefined;
  do {
    const page = await pass.gc.listBlobs(PAGE, after);
    for (const digest of page.items) {
      if (!inTime()) return false;
      await decideBlob(pass, digest);
    }
    after = page.next;
  } while (after !== undefined);
  return true;
}
