import type { GcPasses } from '../core/gc/serial';
import type { Logger } from '../core/index';

export interface GcLoopOptions {
  readonly passes: GcPasses;
  readonly intervalSeconds: number;
  readonly minAgeSeconds: number;
  readonly logger: Logger;
}

/**
 * NIMBUS_GC_INTERVAL: a pass every interval, never two at once (a tick while a pass runs,
 * from the loop or from POST /v2/_nimbus/gc, is skipped). Returns the function that stops it.
 */
export function startGcLoop(options: GcLoopOptions): () => void {
  if (options.intervalSeconds === 0) return () => {};
  const tick = () => {
    if (options.passes.busy) return;
    options.passes.run({ minAgeMs: options.minAgeSeconds * 1000 })
      .catch((error: unknown) => options.logger.log('warn', 'background gc pass failed; the next one retries', { error: String(error) }));
  };
  const timer = setInterval(tick, options.intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
