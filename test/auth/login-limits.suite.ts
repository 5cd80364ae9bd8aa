import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptCounter, LoginLimits } from '../../functions/auth/login-throttle';
import { CLIENT_ADDRESS_HEADER } from '../../functions/core/http/headers';
import { authHarness, basic, getToken, type AuthHarness } from './harness';

const ALICE = basic('alice', 'alice-password');
const ATTACKER = '203.0.113.66';
const ALICE_HOME = '198.51.100.7';

/**
 * The failed-login limits, run on each AttemptCounter (memory for npm start, DynamoDB for
 * Lambda). `freshCounter` returns an empty counter for each test.
 */
export function loginLimitsSuite(name: string, freshCounter: () => Promise<AttemptCounter>): void {
  describe(`failed-login limits (${name} counter)`, () => {
    let h: AuthHarness;
    let writes: string[];

    async function open(limits?: LoginLimits): Promise<AuthHarness> {
      const counter = await freshCounter();
      writes = [];
      // Every write goes through increment or reset: the log of them is the counter's write traffic.
      const spied: AttemptCounter = {
        increment: (key, window, expiresAt) => (writes.push(`+${key}`), counter.increment(key, window, expiresAt)),
        count: (key, window) => counter.count(key, window),
        reset: (key, window) => (writes.push(`-${key}`), counter.reset(key, window)),
      };
      h = await authHarness({ attempts: spied, ...(limits ? { limits } : {}) });
      await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'] });
      return h;
    }
    afterEach(() => h?.close());

    const login = (authorization: string, address: string) => getToken(h, [], authorization, {}, address).then((r) => r.status);

    it('refuses a name from an address after 5 failures there, while the right password works from elsewhere', async () => {
      await open();
      for (let i = 0; i < 5; i++) expect(await login(basic('alice', `guess-${i}`), ATTACKER)).toBe(401);
      const limited = await getToken(h, [], ALICE, {}, ATTACKER);
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
      // Basic credentials straight to /v2/ are limited alike.
      expect((await h.fetch('/v2/', { headers: { authorization: ALICE, [CLIENT_ADDRESS_HEADER]: ATTACKER } })).status).toBe(429);
      expect(await login(ALICE, ALICE_HOME)).toBe(200);
      h.clock.advance(retryAfter);
      expect(await login(ALICE, ATTACKER)).toBe(200);
    });

    it('attacker hammers alice from many addresses for hours: alice logs in from her own every time, and the name budget bounds the guesses', async () => {
      const limits = { perPair: { failures: 3, windowSeconds: 900 }, perAddress: { failures: 50, windowSeconds: 900 }, perName: { failures: 6, windowSeconds: 3600 } };
      await open(limits);
      const attackers = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'];
      const hours = 3;
      let verified = 0;
      let refused = 0;
      for (let minute = 0; minute < hours * 60; minute += 5) {
        for (const [i, address] of attackers.entries()) {
          const status = await login(basic('alice', `guess-${minute}-${i}`), address);
          expect([401, 429]).toContain(status);
          if (status === 401) verified++;
          else refused++;
        }
        if (minute % 15 === 0) expect(await login(ALICE, ALICE_HOME)).toBe(200);
        h.clock.advance(300);
      }
      // Without the name budget each address would get 3 guesses per 15 minutes: 144 in all.
      // With it: 6 an hour from everywhere, then one per 15-minute window per address.
      const bound = hours * (limits.perName.failures + attackers.length * (3600 / limits.perPair.windowSeconds));
      expect(verified).toBeLessThanOrEqual(bound);
      expect(verified + refused).toBe(hours * 12 * attackers.length);
      expect(refused).toBeGreaterThan(0);
    });

    it('lets a clean address try a name whose budget is spent, and refuses one that failed on it', async () => {
      await open({ perName: { failures: 4, windowSeconds: 3600 } });
      for (const address of ['203.0.113.1', '203.0.113.2']) {
        for (let i = 0; i < 2; i++) expect(await login(basic('alice', `guess-${i}`), address)).toBe(401);
      }
      // Budget spent: the two attacking addresses are refused even with the right password...
      expect(await login(ALICE, '203.0.113.1')).toBe(429);
      // ...a fresh address gets its guess checked (and a wrong one counted)...
      expect(await login(basic('alice', 'wrong'), '203.0.113.3')).toBe(401);
      expect(await login(ALICE, '203.0.113.3')).toBe(429);
      // ...and the real user, from a clean address, gets in.
      expect(await login(ALICE, ALICE_HOME)).toBe(200);
    });

    it('limits failures per address across names, IPv6 per /64', async () => {
      await open({ perAddress: { failures: 5, windowSeconds: 900 } });
      for (let i = 0; i < 5; i++) expect(await login(basic(`user${i}`, 'x'), `2001:db8:1:2::${i + 1}`)).toBe(401);
      expect(await login(ALICE, '2001:db8:1:2:ffff::9')).toBe(429);
      expect(await login(ALICE, '2001:db8:1:3::1')).toBe(200);
      for (let i = 0; i < 5; i++) expect(await login(basic(`user${i}`, 'x'), '192.0.2.50')).toBe(401);
      expect(await login(ALICE, '::ffff:192.0.2.50')).toBe(429);
      expect(await login(ALICE, '192.0.2.51')).toBe(200);
    });

    it('clears a pair\'s failures when its login succeeds, so a user\'s own typos never add up', async () => {
      await open();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 4; i++) expect(await login(basic('alice', `typo-${i}`), ALICE_HOME)).toBe(401);
        expect(await login(ALICE, ALICE_HOME)).toBe(200);
      }
    });

    it('writes nothing when logins succeed (Basic auth on every request), and only on failure or the first success after one', async () => {
      await open();
      for (let i = 0; i < 10; i++) expect((await h.fetch('/v2/', { headers: { authorization: ALICE, [CLIENT_ADDRESS_HEADER]: ALICE_HOME } })).status).toBe(200);
      expect(await login(ALICE, ALICE_HOME)).toBe(200);
      expect(writes).toEqual([]);
      expect(await login(basic('alice', 'typo'), ALICE_HOME)).toBe(401);
      expect(writes.sort()).toEqual([`+address:${ALICE_HOME}`, `+pair:alice|${ALICE_HOME}`, '+principal:alice']);
      expect(await login(ALICE, ALICE_HOME)).toBe(200);
      expect(writes).toContain(`-pair:alice|${ALICE_HOME}`);
      const after = writes.length;
      for (let i = 0; i < 5; i++) expect(await login(ALICE, ALICE_HOME)).toBe(200);
      expect(writes).toHaveLength(after);
    });

    it('counts a name no store can hold against the address only', async () => {
      await open();
      expect(await login(basic('Not A Name@x', 'x'), ATTACKER)).toBe(401);
      expect(writes).toEqual([`+address:${ATTACKER}`]);
    });
  });
}
