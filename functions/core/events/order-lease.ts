import type { Clock, Leases, Logger } from '../ports';

export interface OrderLeaseOptions {
  leases: Leases;
  /** How long a lease lives unreleased: longer than any change with its events takes. */
  ttlMs: number;
  /** How long a change waits for another container's change before it goes ahead unordered. */
  waitMs: number;
}

/**
 * Runs `section` (a change with its journal and entries) holding the repository's order lease,
 * so that of two changes made in different processes, the one that happened first also gets
 * the smaller seq: without it, a change could commit its entries after a later change's.
 * Within one process the recorder's queue already orders changes; this orders processes.
 *
 * Availability before order: when the lease stays taken past `waitMs` (a holder that crashed
 * leaves it until its TTL), or the lease store fails, the change still happens, unordered
 * against that holder, and a warning says so. A push is never refused for a webhook's sake.
 */
export async function underOrderLease<T>(
  options: OrderLeaseOptions, clock: Clock, logger: Logger, repository: string, section: () => Promise<T>,
): Promise<T> {
  const held = await takeLease(options, clock, logger, repository);
  try {
    return await section();
  } finally {
    if (held) {
      await options.leases.release(repository).catch((error: unknown) => {
        // Unreleased, it ends by itself after its TTL; the next change waits at most that.
        logger.log('warn', 'event order lease not released', { repository, error: error instanceof Error ? error.message : String(error) });
      });
    }
  }
}

async function takeLease(options: OrderLeaseOptions, clock: Clock, logger: Logger, repository: string): Promise<boolean> {
  const deadline = clock.now() + options.waitMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
    try {
      if (await options.leases.acquire(repository, options.ttlMs)) return true;
    } catch (error) {
      logger.log('warn', 'event order lease unavailable: recording this change unordered against other containers', {
        repository, error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
    if (clock.now() + pause > deadline) {
      logger.log('warn', 'event order lease still held by another change: recording this one unordered against it', { repository, waitedMs: options.waitMs });
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
