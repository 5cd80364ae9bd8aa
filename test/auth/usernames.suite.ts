import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ADDRESS_HEADER } from '../../functions/core/http/headers';
import { basic, getToken, type AuthHarness } from './harness';
import { UNHOLDABLE_NAMES } from './identity-store.contract';

/**
 * Every way a client can send a login name (GET /token with Basic, POST /token with a
 * password grant, Basic straight to /v2/), with names no store can hold: each is a 401
 * UNAUTHORIZED, never a 5xx, on every identity store.
 */
export function unholdableLoginNamesSuite(name: string, open: () => Promise<AuthHarness>): void {
  describe(`logins under names no principal can have (${name} store)`, () => {
    let h: AuthHarness;
    beforeAll(async () => {
      h = await open();
      await h.addUser('alice', 'alice-password', { 'alice/*': ['pull'] });
    });
    afterAll(() => h?.close());

    const expectUnauthorized = async (response: Response) => {
      expect(response.status).toBe(401);
      expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
    };

    it.each(UNHOLDABLE_NAMES.map((bad, i) => [bad, i] as const))('%j gets 401 on GET /token, POST /token and /v2/', async (bad, i) => {
      // An address per name, so the per-address limit does not answer for the store.
      const address = `198.18.0.${i + 1}`;
      await expectUnauthorized(await getToken(h, ['repository:alice/app:pull'], basic(bad, 'alice-password'), { offline_token: 'true' }, address));
      await expectUnauthorized(await h.fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', [CLIENT_ADDRESS_HEADER]: address },
        body: new URLSearchParams({ grant_type: 'password', username: bad, password: 'alice-password', service: 'nimbus-test' }).toString(),
      }));
      await expectUnauthorized(await h.fetch('/v2/alice/app/tags/list', { headers: { authorization: basic(bad, 'alice-password'), [CLIENT_ADDRESS_HEADER]: address } }));
    });

    it('still logs in a real user afterwards', async () => {
      expect((await getToken(h, [], basic('alice', 'alice-password'))).status).toBe(200);
    });
  });
}
