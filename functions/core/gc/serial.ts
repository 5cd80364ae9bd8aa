import type { GcOptions, GcReport } from './ports';
import { runGc, type GcDeps } from './runner';

/** Garbage collection passes of one registry, one at a time. */
export interface GcPasses {
  /** Runs a pass once any pass in progress has finished. */
  run(options: GcOptions): Promise<GcReport>;
  /** Whether a pass is running or waiting (a background loop skips its tick then). */
  readonly busy: boolean;
}

export function serialGc(deps: GcDeps): GcPasses {
  let tail: Promise<unknown> = Promise.resolve();
  let pending = 0;
  return {
    get busy() {
      return pending > 0;
    },
    run(options) {
      pending++;
      const pass = tail.then(() => runGc(deps, options)).finally(() => {
        pending--;
      });
      tail = pass.catch(() => undefined);
      return pass;
    },
  };
}
