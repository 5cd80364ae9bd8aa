import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authHarness, basic, bearer, getToken, pushImage, type AuthHarness } from './harness';
import { startIssuer, type LocalIssuer } from './oidc-issuer';

let h: AuthHarness;
let ci: LocalIssuer;
const mainBranch = { sub: 'repo:org/app:ref:refs/heads/main', repository: 'org/app', ref: 'refs/heads/main' };

beforeEach(async () => {
  ci = await startIssuer();
  h = await authHarness({ oidc: { fetchTimeoutMs: 500 } });
  h.clock.ms = Date.now(); // ID tokens are signed against real time
  await h.store.putFederation({
    issuer: ci.issuer,
    audience: 'nimbus-test',
    generation: randomUUID(),
    rules: [
      { when: 'repository == "org/app" && ref == "refs/heads/main"', pattern: 'org/app', actions: ['pull', 'push'] },
      { when: 'repository == "org/app"', pattern: 'org/base', actions: ['pull'] },
    ],
  });
});
afterEach(async () => {
  await h.close();
  await ci.close();
});

async function ciLogin(idToken: string, scopes: string[]) {
  return getToken(h, scopes, basic('oidc', idToken), { offline_token: 'true', client_id: 'docker' });
}

describe('CI OIDC federation', () => {
  it('maps claim rules to grants: push on org/app from main', async () => {
    const response = await ciLogin(await ci.idToken(mainBranch), ['repository:org/app:pull,push', 'repository:org/base:pull,push', 'repository:org/other:pull']);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; scope: string };
    expect(body.scope).toBe('repository:org/app:pull,push repository:org/base:pull');
    expect(await pushImage(h, 'org/app', bearer(body.token))).toBe(201);
  });

  it('gives nothing the rules do not match, and a push is DENIED', async () => {
    const branch = await ci.idToken({ ...mainBranch, sub: 'repo:org/app:ref:refs/heads/dev', ref: 'refs/heads/dev' });
    const body = (await (await ciLogin(branch, ['repository:org/app:pull,push'])).json()) as { token: string; scope: string };
    expect(body.scope).toBe('');
    expect(await pushImage(h, 'org/app', bearer(body.token))).toBe(403);
  });

  it('accepts the ID token as Basic credentials straight on /v2/', async () => {
    expect(await pushImage(h, 'org/app', basic('oidc', await ci.idToken(mainBranch)))).toBe(201);
  });

  it('rejects a token from an unknown issuer without contacting it', async () => {
    const other = await startIssuer();
    try {
      const response = await ciLogin(await other.idToken(mainBranch), ['repository:org/app:pull']);
      expect(response.status).toBe(401);
      expect(other.hits.size).toBe(0);
      // A trusted issuer's name on a token signed by another key fails the signature check.
      const impostor = await other.idToken(mainBranch, { issuer: ci.issuer });
      expect((await ciLogin(impostor, ['repository:org/app:pull'])).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('rejects a wrong audience, an expired token and a non-JWT password', async () => {
    expect((await ciLogin(await ci.idToken(mainBranch, { audience: 'sts.amazonaws.com' }), [])).status).toBe(401);
    const old = Math.floor(Date.now() / 1000) - 3600;
    expect((await ciLogin(await ci.idToken(mainBranch, { nowSeconds: old, expiresInSeconds: 300 }), [])).status).toBe(401);
    expect((await ciLogin('not-a-jwt', [])).status).toBe(401);
  });

  it('caches discovery and keys across logins', async () => {
    for (let i = 0; i < 3; i++) expect((await ciLogin(await ci.idToken(mainBranch), [])).status).toBe(200);
    expect(ci.hits.get('/.well-known/openid-configuration')).toBe(1);
    expect(ci.hits.get('/jwks')).toBe(1);
  });

  it.each(['hang', 'fail'] as const)('answers 503 (retry) when the issuer\'s JWKS endpoint does %s', async (mode) => {
    ci.jwksMode = mode;
    const response = await ciLogin(await ci.idToken(mainBranch), []);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeTruthy();
    expect(await response.text()).not.toContain(new URL(ci.issuer).host);
  });

  it('keeps the issuer\'s addresses and the fetch errors in the log, out of the answer', async () => {
    const lines: string[] = [];
    const logged = await authHarness({ oidc: { fetchTimeoutMs: 500 }, logger: { log: (level, message, fields) => lines.push(JSON.stringify({ level, message, fields })) } });
    try {
      logged.clock.ms = Date.now();
      // Discovery on a closed port (connection refused), and a JWKS URL on an internal host over plain http.
      const unreachable = 'http://127.0.0.1:9';
      await logged.store.putFederation({ issuer: unreachable, audience: 'nimbus-test', generation: randomUUID(), rules: [] });
      const internal = 'https://ci.internal.example';
      await logged.store.putFederation({ issuer: internal, audience: 'nimbus-test', generation: randomUUID(), rules: [], jwksUri: 'http://keys.internal.example/jwks' });
      for (const [issuer, secret] of [[unreachable, '127.0.0.1:9'], [internal, 'keys.internal.example']] as const) {
        const response = await getToken(logged, [], basic('oidc', await ci.idToken(mainBranch, { issuer })), { offline_token: 'true' });
        expect(response.status).toBe(503);
        const text = await response.text();
        for (const leak of [secret, 'ECONNREFUSED', 'fetch failed', 'must use https']) expect(text).not.toContain(leak);
        expect(lines.join('\n')).toContain(secret);
      }
    } finally {
      await logged.close();
    }
  });

  it('refreshes a CI login until the issuer\'s rules change', async () => {
    const login = (await (await ciLogin(await ci.idToken(mainBranch), [])).json()) as { refresh_token: string };
    const refresh = () => h.fetch('/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refresh_token, scope: 'repository:org/app:push' }).toString(),
    });
    const first = await refresh();
    expect(first.status).toBe(200);
    expect(((await first.json()) as { scope: string }).scope).toBe('repository:org/app:push');
    const federation = (await h.store.getFederation(ci.issuer))!;
    await h.store.putFederation({ ...federation, rules: [], generation: randomUUID() });
    expect((await refresh()).status).toBe(401);
  });
});
