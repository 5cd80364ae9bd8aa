import { describe, expect, it, vi } from 'vitest';
import { lazyService } from '../../functions/core/lazy-service';

class Counter {
  total = 0;
  async add(n: number): Promise<number> {
    this.total += n;
    return this.total;
  }
  async fail(): Promise<never> {
    throw new Error('from the service');
  }
}

describe('lazyService', () => {
  it('loads nothing until the first call, then loads once for every call, concurrent ones included', async () => {
    const load = vi.fn(async () => new Counter());
    const counter = lazyService(load, ['add']);
    expect(load).not.toHaveBeenCalled();
    const totals = await Promise.all([counter.add(1), counter.add(2), counter.add(3)]);
    expect(load).toHaveBeenCalledTimes(1);
    // One instance behind every call, methods called on it (this is the instance).
    expect(totals.sort()).toEqual([1, 3, 6]);
    expect(await counter.add(4)).toBe(10);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('tries a failed load again on the next call, and passes the service\'s own errors through', async () => {
    let attempts = 0;
    const counter = lazyService(async () => {
      attempts++;
      if (attempts === 1) throw new Error('chunk missing');
      return new Counter();
    }, ['add', 'fail']);
    await expect(counter.add(1)).rejects.toThrow('chunk missing');
    expect(await counter.add(1)).toBe(1);
    await expect(counter.fail()).rejects.toThrow('from the service');
    expect(attempts).toBe(2);
  });

  it('offers only the methods it was given', () => {
    const counter = lazyService(async () => new Counter(), ['add']);
    expect(Object.keys(counter)).toEqual(['add']);
  });
});
