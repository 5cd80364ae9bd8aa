import type { GcOptions, GcReport } from './ports';
import { runGc, type GcDeps } from './runner';

/** Garbage collection passes of one registry, one at a time. */
export interface GcPasses {
  /** Runs a pass once any pass in progress has finished. */
  run(options: GcOptions): Promise<GcReport>;
  /** Whether a pass is running or waiting (a background loop skips its tick then). */
  readonly busy: boolean;
  /** Calls `listener` with the report of every pass that finishes (metrics). */
  onReport(listener: (report: GcReport) => void): void;
}

export function serialGc(deps: GcDeps): GcPasses {
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  const listeners: Array<(report: GcReport) => void> = [];
  return {
    get busy() {
      return pending > 0;
    },
    run(options) {
      pending++;
      const pass = tail.then(() => runGc(deps, options)).then((report) => {
        for (const listener of listeners) listener(report);
        return report;
      }).finally(() => {
        pending--;
      });
      tail = pass.catch(() => undefined);
      return pass;
    },
    onReport(listener) {
      listeners.push(listener);
    },
  };
}
