import { describe, expect, it } from 'vitest';
import { underOrderLease, type OrderLeaseOptions } from '../../functions/core/events/order-lease';
import type { Leases } from '../../functions/core/ports';

/** Leases shared by "processes" in memory; each process has its own handle, as containers do. */
function sharedLeases(now: () => number) {
  const held = new Map<string, { owner: number; until: number }>();
  let next = 0;
  return {
    held,
    handle(): Leases {
      const owner = next++;
      return {
        async acquire(key, ttlMs) {
          const current = held.get(key);
          if (current && current.until >= now()) return false;
          held.set(key, { owner, until: now() + ttlMs });
          return true;
        },
        async release(key) {
          if (held.get(key)?.owner === owner) held.delete(key);
        },
      };
    },
  };
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const clock = { now: () => Date.now() };

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  return { lines, log: (level: string, message: string) => void lines.push({ level, message }) };
}

describe('underOrderLease', () => {
  it('runs a second process\'s change only after the first one\'s has finished, whatever the order of their awaits', async () => {
    const leases = sharedLeases(clock.now);
    const logger = recordingLogger();
    const options = (handle: Leases): OrderLeaseOptions => ({ leases: handle, ttlMs: 30_000, waitMs: 10_000 });
    const order: string[] = [];
    const firstInside = gate();
    const releaseFirst = gate();
    const first = underOrderLease(options(leases.handle()), clock, logger, 'team/app', async () => {
      order.push('first starts');
      firstInside.open();
      await releaseFirst.opened;
      order.push('first ends');
    });
    await firstInside.opened;
    const second = underOrderLease(options(leases.handle()), clock, logger, 'team/app', async () => {
      order.push('second starts');
    });
    // Another repository is not held up.
    await underOrderLease(options(leases.handle()), clock, logger, 'team/other', async () => void order.push('other repository'));
    releaseFirst.open();
    await Promise.all([first, second]);
    expect(order).toEqual(['first starts', 'other repository', 'first ends', 'second starts']);
    expect(leases.held.size).toBe(0);
    expect(logger.lines).toEqual([]);
  });

  it('goes ahead unordered, with a warning, when the lease stays taken past the wait (a crashed holder)', async () => {
    const leases = sharedLeases(clock.now);
    const logger = recordingLogger();
    // A holder that never releases: its lease outlives the wait.
    expect(await leases.handle().acquire('team/app', 60_000)).toBe(true);
    let ran = false;
    await underOrderLease({ leases: leases.handle(), ttlMs: 30_000, waitMs: 50 }, clock, logger, 'team/app', async () => void (ran = true));
    expect(ran).toBe(true);
    expect(logger.lines).toEqual([{ level: 'warn', message: expect.stringContaining('still held by another change') }]);
  });

  it('goes ahead, with a warning, when the lease store fails; releases after a change that throws', async () => {
    const logger = recordingLogger();
    const broken: Leases = { acquire: () => Promise.reject(new Error('throttled')), release: async () => undefined };
    expect(await underOrderLease({ leases: broken, ttlMs: 30_000, waitMs: 1000 }, clock, logger, 'r', async () => 'done')).toBe('done');
    expect(logger.lines[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('unavailable') });

    const leases = sharedLeases(clock.now);
    await expect(underOrderLease({ leases: leases.handle(), ttlMs: 30_000, waitMs: 1000 }, clock, logger, 'r', async () => {
      throw new Error('change failed');
    })).rejects.toThrow('change failed');
    expect(leases.held.size).toBe(0);
  });
});
