import type { Clock, Logger, MetadataStore } from '../core/index';
import type { GcReport, GcStore } from '../core/gc/ports';
import { runGc } from '../core/gc/runner';
import type { WebhookEvents } from '../core/events/services';
import type { RetentionDeps } from '../core/policy/runner';
import { runScheduledRetention } from '../core/policy/scheduled-run';

/** What the scheduler sends, and what an invocation sends itself to resume. */
export interface GcEvent {
  /** Mark and sweep every blob (and orphaned objects), not only the review queue. */
  readonly full?: boolean;
  readonly dryRun?: boolean;
  /** Set on resumptions: how many invocations this pass has taken so far. */
  readonly chain?: number;
  /**
   * The schedule's: a retention run (the retention document and the cache rules' lifecycles)
   * before the pass, so what it deletes is collected once the safety window has passed.
   * Ignored on resumptions: a chain runs retention once, in its first invocation.
   */
  readonly retention?: boolean;
}

/** The event as the function receives it: anything else than true is not a flag, a chain is a positive whole number. */
export function gcEventOf(event: unknown): GcEvent {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const chain = typeof raw.chain === 'number' && Number.isInteger(raw.chain) && raw.chain > 0 ? raw.chain : undefined;
  return {
    full: raw.full === true, dryRun: raw.dryRun === true, ...(chain === undefined ? {} : { chain }),
    ...(raw.retention === true && chain === undefined ? { retention: true } : {}),
  };
}

export interface GcPassDeps {
  readonly gc: GcStore;
  readonly metadata: MetadataStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Invokes this function again, asynchronously, with `event`. */
  readonly resume: (event: GcEvent) => Promise<void>;
  /** Writes one line to the log (CloudWatch reads EMF metrics from it). */
  readonly emit: (line: string) => void;
  readonly minAgeMs: number;
  /** Most invocations in one chain. */
  readonly maxChain: number;
  /** The outbox: what a pass deletes (referrers, blob bytes) is recorded with the deletion, for the events function. */
  readonly events?: WebhookEvents;
  /** What an event with `retention` runs retention with (the registry function's stores, clock and events). */
  readonly retention?: RetentionDeps;
}

/** Time left for the work after the pass stops: the report, the metrics and the resumption. */
export const WRAP_UP_MS = 60_000;

/**
 * One scheduled GC invocation: a pass that stops by the deadline (the Lambda's remaining time
 * less a minute), then, when it is incomplete, invokes the function again to go on. Passes are
 * idempotent and resume where the queue stands (settled reviews are gone), so a lost or
 * duplicated resumption costs only time. Chains stop after `maxChain` invocations; the next
 * scheduled run picks up the rest.
 */
export async function runGcInvocation(deps: GcPassDeps, event: GcEvent, remainingMs: number): Promise<GcReport> {
  const chain = event.chain ?? 1;
  // Set before retention: the time it takes comes out of the pass's, and a pass whose deadline
  // retention used up stops at once and resumes in a fresh invocation.
  const deadline = deps.clock.now() + remainingMs - WRAP_UP_MS;
  if (event.retention === true && event.chain === undefined) await retentionFirst(deps, event.dryRun ?? false, deadline);
  const report = await runGc(
    { gc: deps.gc, metadata: deps.metadata, clock: deps.clock, logger: deps.logger, ...(deps.events ? { events: deps.events } : {}) },
    { minAgeMs: deps.minAgeMs, full: event.full ?? false, dryRun: event.dryRun ?? false, deadline },
  );
  deps.emit(JSON.stringify(gcMetrics(report, chain, deps.clock.now())));
  if (!report.complete) {
    if (chain < deps.maxChain) {
      await deps.resume({ full: event.full ?? false, dryRun: event.dryRun ?? false, chain: chain + 1 });
      deps.logger.log('info', 'gc pass incomplete: resuming in a new invocation', { chain: chain + 1 });
    } else {
      deps.logger.log('warn', 'gc pass incomplete after the most chained invocations; the next scheduled run goes on', { chain });
    }
  }
  return report;
}

/**
 * The schedule's retention run. A failure is logged as an error and the pass goes on: the pass
 * does not depend on it, and the next scheduled run tries retention again.
 */
async function retentionFirst(deps: GcPassDeps, dryRun: boolean, deadline: number): Promise<void> {
  if (!deps.retention) {
    deps.logger.log('warn', 'the schedule asked for retention but this function has no policy store; skipped');
    return;
  }
  try {
    // The pass's deadline bounds retention too: out of time, it stops (listing: nothing deleted;
    // deleting: the rest left for tomorrow) and the pass, out of time as well, resumes in a new invocation.
    await runScheduledRetention(deps.retention, deps.logger, { dryRun, deadline });
  } catch (error) {
    deps.logger.log('error', 'scheduled retention run failed; the gc pass goes on, the next schedule tries again', { error: String(error) });
  }
}

export const GC_METRICS_NAMESPACE = 'Nimbus/GC';

/** A CloudWatch Embedded Metric Format record of one invocation's pass. */
export function gcMetrics(report: GcReport, chain: number, timestamp: number): Record<string, unknown> {
  const metrics = [
    { Name: 'BytesReclaimed', Unit: 'Bytes' }, { Name: 'BlobsDeleted', Unit: 'Count' }, { Name: 'Duration', Unit: 'Milliseconds' },
    { Name: 'ReviewsHandled', Unit: 'Count' }, { Name: 'UploadsSwept', Unit: 'Count' }, { Name: 'OrphansDeleted', Unit: 'Count' },
    { Name: 'Incomplete', Unit: 'Count' },
  ];
  return {
    _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: GC_METRICS_NAMESPACE, Dimensions: [['Pass']], Metrics: metrics }] },
    Pass: report.full ? 'full' : 'incremental',
    DryRun: report.dryRun,
    Chain: chain,
    BytesReclaimed: report.dryRun ? 0 : report.bytesFreed + report.uploadBytesFreed + report.orphanBytesFreed,
    BlobsDeleted: report.dryRun ? 0 : report.blobsDeleted,
    Duration: report.durationMs,
    ReviewsHandled: report.reviewed,
    UploadsSwept: report.dryRun ? 0 : report.uploadsSwept,
    OrphansDeleted: report.dryRun ? 0 : report.orphansDeleted,
    Incomplete: report.complete ? 0 : 1,
  };
}
