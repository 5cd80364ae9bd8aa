import type { Logger } from '../core/index';
import type { RetentionDeps } from '../core/policy/runner';
import { runScheduledRetention } from '../core/policy/scheduled-run';

export interface RetentionLoopOptions {
  /** What POST /v2/_nimbus/retention/run uses (core/policy/scheduled-run.ts retentionDepsOf). */
  readonly deps: RetentionDeps;
  readonly intervalSeconds: number;
  readonly logger: Logger;
}

/** Seconds after start of the first scheduled run (or the interval, if shorter). */
export const FIRST_RUN_AFTER_SECONDS = 300;

/**
 * NIMBUS_RETENTION_INTERVAL: a retention run 5 minutes after start, then every interval (the
 * retention document and the cache rules' lifecycles apply by themselves, as ECR lifecycle
 * policies do), never two of the loop's at once: a tick while one runs is skipped. A failed run is a warning; the next tick
 * tries again. Returns the function that stops it.
 */
export function startRetentionLoop(options: RetentionLoopOptions): () => void {
  if (options.intervalSeconds === 0) return () => {};
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    runScheduledRetention(options.deps, options.logger)
      .catch((error: unknown) => options.logger.log('warn', 'scheduled retention run failed; the next one retries', { error: String(error) }))
      .finally(() => { running = false; });
  };
  // The first run comes soon after start, then one every interval: a server restarted more
  // often than daily (deploys, reboots) would otherwise never reach its first daily run.
  let timer: NodeJS.Timeout = setTimeout(() => {
    tick();
    timer = setInterval(tick, options.intervalSeconds * 1000);
    timer.unref();
  }, Math.min(options.intervalSeconds, FIRST_RUN_AFTER_SECONDS) * 1000);
  timer.unref();
  // Node's clearTimeout clears either kind of timer.
  return () => clearTimeout(timer);
}
