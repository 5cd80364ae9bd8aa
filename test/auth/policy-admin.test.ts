import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authHarness, basic, bearer, tokenFor, type AuthHarness } from './harness';

let h: AuthHarness;
beforeEach(async () => {
  h = await authHarness();
  await h.addUser('root', 'root-password', { '**': ['pull', 'push', 'delete'] });
  await h.addUser('dev', 'dev-password', { 'team/**': ['pull', 'push', 'delete'], '**': ['pull', 'push'] });
});
afterEach(() => h.close());

const ROUTES: Array<[string, string]> = [
  ['GET', '/v2/_nimbus/retention'], ['PUT', '/v2/_nimbus/retention'], ['POST', '/v2/_nimbus/retention/run?dryRun=1'],
  ['GET', '/v2/_nimbus/immutability'], ['PUT', '/v2/_nimbus/immutability'],
];

describe('policy administration routes need the admin scope (registry:nimbus:*)', () => {
  it('challenge anonymous callers for registry:nimbus:*', async () => {
    for (const [method, path] of ROUTES) {
      const response = await h.fetch(path, { method, ...(method === 'PUT' ? { body: '{"rules":[]}' } : {}) });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('scope="registry:nimbus:*"');
    }
  });

  it('deny a caller without pull, push and delete on **, and serve one with them', async () => {
    const devToken = await tokenFor(h, ['registry:nimbus:*'], basic('dev', 'dev-password'));
    const rootToken = await tokenFor(h, ['registry:nimbus:*'], basic('root', 'root-password'));
    for (const [method, path] of ROUTES) {
      const body = method === 'PUT' ? { body: '{"rules":[]}' } : {};
      const denied = await h.fetch(path, { method, ...body, headers: { authorization: bearer(devToken) } });
      expect([401, 403], `${method} ${path}`).toContain(denied.status);
      const allowed = await h.fetch(path, { method, ...body, headers: { authorization: bearer(rootToken) } });
      expect(allowed.status, `${method} ${path}`).toBe(200);
    }
  });
});
