import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectAllGarbage, releaseMemoryWhenIdle } from '../../functions/adapters/node/idle-memory';

describe('releaseMemoryWhenIdle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('releases once after start-up, and again only after a request ends and the quiet time passes', () => {
    const release = vi.fn();
    const releaser = releaseMemoryWhenIdle({ idleMs: 2000, release });
    vi.advanceTimersByTime(1999);
    expect(release).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(release).toHaveBeenCalledTimes(1);
    // Nothing happened since: no second release, however long it stays quiet.
    vi.advanceTimersByTime(60_000);
    expect(release).toHaveBeenCalledTimes(1);

    releaser.begin();
    releaser.end();
    vi.advanceTimersByTime(2000);
    expect(release).toHaveBeenCalledTimes(2);
    releaser.stop();
  });

  it('never releases while a request is in flight, and restarts the quiet time when one ends', () => {
    const release = vi.fn();
    const releaser = releaseMemoryWhenIdle({ idleMs: 1000, release });
    releaser.begin();
    releaser.begin();
    vi.advanceTimersByTime(10_000);
    releaser.end();
    vi.advanceTimersByTime(10_000);
    expect(release).not.toHaveBeenCalled();
    releaser.end();
    vi.advanceTimersByTime(999);
    expect(release).not.toHaveBeenCalled();
    // A request that begins inside the quiet time cancels it.
    releaser.begin();
    vi.advanceTimersByTime(5000);
    expect(release).not.toHaveBeenCalled();
    releaser.end();
    vi.advanceTimersByTime(1000);
    expect(release).toHaveBeenCalledTimes(1);
    releaser.stop();
  });

  it('stop cancels a pending release', () => {
    const release = vi.fn();
    const releaser = releaseMemoryWhenIdle({ idleMs: 1000, release });
    releaser.stop();
    vi.advanceTimersByTime(5000);
    expect(release).not.toHaveBeenCalled();
  });

  it('reports what each release took and freed', () => {
    const onRelease = vi.fn();
    const releaser = releaseMemoryWhenIdle({ idleMs: 10, release: () => undefined, onRelease });
    vi.advanceTimersByTime(10);
    expect(onRelease).toHaveBeenCalledWith({ ms: expect.any(Number), rssBefore: expect.any(Number), rssAfter: expect.any(Number) });
    releaser.stop();
  });
});

describe('collectAllGarbage', () => {
  it('collects garbage nothing else would: an unreachable object is finalised', async () => {
    const finalised = new Promise<void>((resolve) => {
      const registry = new FinalizationRegistry<string>(() => resolve());
      (() => registry.register({ big: Buffer.alloc(1024) }, 'gone'))();
      // Held so the registry itself stays reachable until its callback runs.
      (globalThis as Record<string, unknown>).__idleMemoryTestRegistry = registry;
    });
    collectAllGarbage();
    await finalised;
    delete (globalThis as Record<string, unknown>).__idleMemoryTestRegistry;
    // The flag was turned back off: the registry's own contexts get no `gc`.
    expect((globalThis as Record<string, unknown>).gc).toBeUndefined();
  });
});
