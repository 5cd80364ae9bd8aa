import type { Meter, Progress } from '../push/progress';
import type { SeededBlob } from './bodies';
import type { Ledger } from './ledger';
import type { DoctorSession } from './session';

/** What must have gone well before a check can tell anything. */
export type Need = 'login' | 'upload-host' | 'blob';

/** What a check that went through reports. */
export interface CheckOutcome {
  /** `warn`: it worked, but not as a user would want (a cold start docker's first try would not survive). */
  status?: 'ok' | 'warn';
  detail: string;
  /** Bytes moved by the check's main transfer, and how long that transfer took. */
  bytes?: number;
  transferMs?: number;
}

export interface Check {
  name: string;
  needs: Need[];
  run(ctx: DoctorContext): Promise<CheckOutcome>;
}

export interface PushedBlob {
  blob: SeededBlob;
  digest: string;
}

/** What the checks share: the session, the scratch repositories, and what was pushed so far. */
export interface DoctorContext {
  session: DoctorSession;
  /** Where blobs and the manifest go (nimbus-doctor/<random> by default). */
  repository: string;
  /** Where the cross-repository mount links a blob to. */
  mountRepository: string;
  /** Unique per run, so no blob of an earlier run is found instead of uploaded. */
  runId: string;
  progress: Progress;
  /** A progress meter for a transfer (a bar on a terminal for long ones; nothing otherwise). */
  meter(title: string, total: number): Meter;
  ledger: Ledger;
  /** How long GET /v2/ takes once logged in: what a request costs when nothing has to wake. */
  baselineMs: number;
  /** Blobs in `repository`, in the order they were pushed. */
  blobs: PushedBlob[];
  /** Needs that failed, with the check they failed in: later checks that have them are skipped. */
  broken: Partial<Record<Need, string>>;
  sleep(ms: number): Promise<void>;
}

export const MiB = 1024 * 1024;
