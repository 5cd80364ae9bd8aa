import { describe, expect, it } from 'vitest';
import { addressBucket } from '../../functions/auth/client-address';
import { MemoryAttemptCounter } from '../../functions/auth/login-throttle';
import { loginLimitsSuite } from './login-limits.suite';

loginLimitsSuite('in-memory', async () => new MemoryAttemptCounter());

describe('in-memory failure counter', () => {
  it('keeps the counts of a name under attack when a flood of fresh keys fills it', async () => {
    const counter = new MemoryAttemptCounter(100, { now: () => 0 });
    for (let i = 0; i < 30; i++) await counter.increment('principal:alice', 1, 7200);
    for (let i = 0; i < 1_000; i++) await counter.increment(`address:flood-${i}`, 1, 7200);
    expect(await counter.count('principal:alice', 1)).toBe(30);
  });

  it('forgets expired counts first', async () => {
    let now = 0;
    const counter = new MemoryAttemptCounter(10, { now: () => now });
    for (let i = 0; i < 10; i++) await counter.increment(`old-${i}`, 1, 100);
    now = 200_000;
    await counter.increment('principal:alice', 2, 1_000);
    await counter.increment('principal:alice', 2, 1_000);
    expect(await counter.count('principal:alice', 2)).toBe(2);
    expect(await counter.count('old-9', 1)).toBe(0);
  });
});

describe('address buckets', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    [undefined, 'unknown'],
    ['x'.repeat(500), 'x'.repeat(64)],
  ])('%s counts as %s', (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});
