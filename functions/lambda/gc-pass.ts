import type { Clock, Logger, MetadataStore } from '../core/index';
import type { GcReport, GcStore } from '../core/gc/ports';
import { runGc } from '../core/gc/runner';
import type { WebhookEvents } from '../core/events/services';

/** What the scheduler sends, and what an invocation sends itself to resume. */
export interface GcEvent {
  /** Mark and sweep every blob (and orphaned objects), not only the review queue. */
  readonly full?: boolean;
  readonly dryRun?: boolean;
  /** Set on resumptions: how many invocations this pass has taken so far. */
  readonly chain?: number;
}

/** The event as the function receives it: anything else than true is not a flag, a chain is a positive whole number. */
export function gcEventOf(event: unknown): GcEvent {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const chain = typeof raw.chain === 'number' && Number.isInteger(raw.chain) && raw.chain > 0 ? raw.chain : undefined;
  return { full: raw.full === true, dryRun: raw.dryRun === true, ...(chain === undefined ? {} : { chain }) };
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
  const report = await runGc(
    { gc: deps.gc, metadata: deps.metadata, clock: deps.clock, logger: deps.logger, ...(deps.events ? { events: deps.events } : {}) },
    { minAgeMs: deps.minAgeMs, full: event.full ?? false, dryRun: event.dryRun ?? false, deadline: deps.clock.now() + remainingMs - WRAP_UP_MS },
  );
  deps.emit(JSON.stringify(gcMetrics(report, chain, deps.clock.now())));
  if (!report.complete) {
    if (chain < deps.maxChain) {
      await deps.resume({ ...event, chain: chain + 1 });
      deps.logger.log('info', 'gc pass incomplete: resuming in a new invocation', { chain: chain + 1 });
    } else {
      deps.logger.log('warn', 'gc pass incomplete after the most chained invocations; the next scheduled run goes on', { chain });
    }
  }
  return report;
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
