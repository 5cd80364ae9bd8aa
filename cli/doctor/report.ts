import { formatBytes } from '../push/progress';
import type { Diagnosis } from './diagnosis';
import type { NetworkFailure } from './http';
import type { CleanupReport } from './ledger';
import { seconds, type Responder } from './observation';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** The whole check, from its first request to its last. */
  ms?: number;
  /** The main transfer: its size and its rate (bytes per second). */
  bytes?: number;
  bytesPerSecond?: number;
  detail: string;
  /** For a failure: the request that failed, and what it most likely means. */
  during?: string;
  diagnosis?: Diagnosis;
  /** The failed request, as seen (for --json). */
  observed?: {
    method: string; url: string; status: number | null; failure: NetworkFailure | null;
    elapsedMs: number; bytesSent: number; bodyBytes: number; server: Responder;
  };
}

export interface DoctorReport {
  registry: string;
  login: string | null;
  repositories: string[];
  ok: boolean;
  checks: CheckResult[];
  cleanup: (CleanupReport & { skipped?: string }) | null;
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL', skip: 'skip' };
const NAME_WIDTH = 26;

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** One line per check (time and throughput), and under a failure its cause and fix. */
export function formatCheck(result: CheckResult): string[] {
  const time = result.ms === undefined ? '' : seconds(result.ms);
  const rate = result.bytesPerSecond === undefined ? '' : formatRate(result.bytesPerSecond);
  const head = `${LABEL[result.status].padEnd(4)}  ${result.name.padEnd(NAME_WIDTH)} ${time.padStart(8)} ${rate.padStart(12)}  `;
  if (!result.diagnosis) return [`${head}${result.detail}`];
  const indent = ' '.repeat(6);
  return [
    `${head}${result.diagnosis.cause}`,
    ...(result.during ? [`${indent}during: ${result.during}`] : []),
    `${indent}fix: ${result.diagnosis.fix}`,
  ];
}

export function formatCleanup(cleanup: DoctorReport['cleanup']): string[] {
  if (!cleanup) return [];
  const line = (label: string, text: string) => `${label.padEnd(4)}  ${'clean-up'.padEnd(NAME_WIDTH)} ${''.padStart(8)} ${''.padStart(12)}  ${text}`;
  if (cleanup.skipped) return [line('note', cleanup.skipped)];
  const deleted = cleanup.deleted || cleanup.notDeleted.length ? `deleted ${cleanup.deleted} item${cleanup.deleted === 1 ? '' : 's'}` : 'nothing to delete';
  if (!cleanup.notDeleted.length) return [line('ok', deleted)];
  return [
    line('note', `${deleted}; could not delete ${cleanup.notDeleted.length} (not a failure):`),
    ...cleanup.notDeleted.map(({ what, why }) => `      ${what}: ${why}`),
  ];
}

export function formatSummary(report: DoctorReport): string {
  const failed = report.checks.filter((each) => each.status === 'fail').length;
  const skipped = report.checks.filter((each) => each.status === 'skip').length;
  const ran = report.checks.length - skipped;
  if (!failed) return `all ${ran} checks passed${skipped ? ` (${skipped} skipped)` : ''}`;
  return `${failed} of ${ran} checks failed${skipped ? `, ${skipped} skipped because of them` : ''}`;
}
