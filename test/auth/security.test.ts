import { createPublicKey, createHmac, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeySet } from '../../functions/auth/keyset';
import { authHarness, basic, bearer, getToken, pushImage, tokenFor, type AuthHarness } from './harness';

let h: AuthHarness;
beforeEach(async () => {
  h = await authHarness();
  await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'] });
});
afterEach(() => h.close());

const alice = basic('alice', 'alice-password');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function pullStatus(repo: string, token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await h.fetch(`/v2/${repo}/tags/list`, { headers: { authorization: bearer(token) } });
  return { status: response.status, challenge: response.headers.get('www-authenticate') };
}

describe('forged and misused tokens are rejected', () => {
  it('rejects an expired token with 401 invalid_token', async () => {
    const token = await tokenFor(h, ['repository:alice/app:pull'], alice);
    expect((await pullStatus('alice/app', token)).status).not.toBe(401);
    h.clock.advance(300 + 31); // TTL plus the verifier's clock tolerance
    const result = await pullStatus('alice/app', token);
    expect(result.status).toBe(401);
    expect(result.challenge).toContain('error="invalid_token"');
  });

  it('does not let a token for repository A open repository B', async () => {
    const token = await tokenFor(h, ['repository:alice/a:pull'], alice);
    // alice may pull alice/b too, so a new token would help: 401 with the scope to ask for.
    const sameOwner = await pullStatus('alice/b', token);
    expect(sameOwner.status).toBe(401);
    expect(sameOwner.challenge).toContain('scope="repository:alice/b:pull"');
    // bob/b is not hers at all: 403.
    expect((await pullStatus('bob/b', token)).status).toBe(403);
  });

  it('rejects alg "none"', async () => {
    const real = await tokenFor(h, ['repository:alice/app:pull'], alice);
    const [, payload] = real.split('.');
    const forged = `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
    expect((await pullStatus('alice/app', forged)).status).toBe(401);
  });

  it('rejects HS256 "signed" with the public key', async () => {
    const real = await tokenFor(h, ['repository:alice/app:pull'], alice);
    const [header, payload] = real.split('.');
    const kid = (JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid: string }).kid;
    const publicKey = h.keys.verificationKey(kid)!.publicKey;
    for (const secret of [publicKey.export({ format: 'pem', type: 'spki' }), publicKey.export({ format: 'der', type: 'spki' })]) {
      const head = b64({ alg: 'HS256', typ: 'at+jwt', kid });
      const signature = createHmac('sha256', secret).update(`${head}.${payload}`).digest('base64url');
      expect((await pullStatus('alice/app', `${head}.${payload}.${signature}`)).status).toBe(401);
    }
  });

  it('rejects a tampered payload', async () => {
    const real = await tokenFor(h, ['repository:alice/app:pull'], alice);
    const [header, payload, signature] = real.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { access: { name: string; actions: string[] }[] };
    claims.access[0]!.actions = ['pull', 'push'];
    const tampered = `${header}.${b64(claims)}.${signature}`;
    const post = await h.fetch('/v2/alice/app/blobs/uploads/', { method: 'POST', headers: { authorization: bearer(tampered) } });
    expect(post.status).toBe(401);
    expect(post.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('rejects a token signed by a key this registry does not hold', async () => {
    const other = await authHarness({ keys: await KeySet.fromSeeds([randomBytes(32)]) });
    try {
      await other.addUser('alice', 'alice-password', { 'alice/*': ['pull'] });
      const foreign = await tokenFor(other, ['repository:alice/app:pull'], alice);
      expect((await pullStatus('alice/app', foreign)).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('keeps accepting tokens of a rotated-out key, by kid', async () => {
    const oldSeed = randomBytes(32);
    const before = await authHarness({ keys: await KeySet.fromSeeds([oldSeed]) });
    try {
      await before.addUser('alice', 'alice-password', { 'alice/*': ['pull'] });
      const oldToken = await tokenFor(before, ['repository:alice/app:pull'], alice);
      const rotated = await KeySet.fromSeeds([randomBytes(32), oldSeed]);
      expect(rotated.signing.kid).not.toBe((await KeySet.fromSeeds([oldSeed])).signing.kid);
      const after = await authHarness({ keys: rotated });
      try {
        const response = await after.fetch('/v2/', { headers: { authorization: bearer(oldToken) } });
        expect(response.status).toBe(200);
      } finally {
        await after.close();
      }
    } finally {
      await before.close();
    }
  });

  it('learns a rotated-in key from the first token that names it, when it can reload keys', async () => {
    const oldSeed = randomBytes(32);
    const newSeed = randomBytes(32);
    const rotated = await authHarness({ keys: await KeySet.fromSeeds([newSeed, oldSeed]) });
    let reloads = 0;
    const stale = await authHarness({
      keys: await KeySet.fromSeeds([oldSeed]),
      reloadKeys: async () => {
        reloads++;
        return KeySet.fromSeeds([newSeed, oldSeed]);
      },
    });
    try {
      await rotated.addUser('alice', 'alice-password');
      const fresh = await tokenFor(rotated, [], alice);
      expect((await stale.fetch('/v2/', { headers: { authorization: bearer(fresh) } })).status).toBe(200);
      // Unknown kids do not make it reload more than once a minute.
      const foreign = await authHarness({ keys: await KeySet.fromSeeds([randomBytes(32)]) });
      try {
        await foreign.addUser('alice', 'alice-password');
        const bogus = await tokenFor(foreign, [], alice);
        for (let i = 0; i < 3; i++) expect((await stale.fetch('/v2/', { headers: { authorization: bearer(bogus) } })).status).toBe(401);
      } finally {
        await foreign.close();
      }
      expect(reloads).toBe(1);
    } finally {
      await rotated.close();
      await stale.close();
    }
  });

  it('answers 503, not 401, while the keys cannot be reloaded, so docker keeps its login', async () => {
    const oldSeed = randomBytes(32);
    const newSeed = randomBytes(32);
    const rotated = await authHarness({ keys: await KeySet.fromSeeds([newSeed, oldSeed]) });
    let secretsManagerDown = true;
    // Another instance of the same registry: same users, but started before the rotation.
    const stale = await authHarness({
      store: rotated.store,
      keys: await KeySet.fromSeeds([oldSeed]),
      reloadKeys: async () => {
        if (secretsManagerDown) throw Object.assign(new Error('GetSecretValue on arn:aws:secretsmanager:eu-west-1:123456789012:secret:k throttled'), { name: 'ThrottlingException' });
        return KeySet.fromSeeds([newSeed, oldSeed]);
      },
    });
    try {
      await rotated.addUser('alice', 'alice-password');
      const login = (await (await getToken(rotated, [], alice, { offline_token: 'true' })).json()) as { token: string; refresh_token: string };
      const refresh = () => stale.fetch('/token', {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refresh_token }).toString(),
      });
      for (const response of [await stale.fetch('/v2/', { headers: { authorization: bearer(login.token) } }), await refresh(), await refresh()]) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBeTruthy();
        expect(await response.text()).not.toMatch(/arn:aws|GetSecretValue|Throttling/);
      }
      secretsManagerDown = false;
      stale.clock.advance(61);
      expect((await refresh()).status).toBe(200);
      expect((await stale.fetch('/v2/', { headers: { authorization: bearer(login.token) } })).status).toBe(200);
    } finally {
      await rotated.close();
      await stale.close();
    }
  });

  it('keeps access and refresh tokens apart', async () => {
    const login = (await (await getToken(h, ['repository:alice/app:pull'], alice, { offline_token: 'true' })).json()) as { token: string; refresh_token: string };
    expect((await pullStatus('alice/app', login.refresh_token)).status).toBe(401);
    const asRefresh = await h.fetch('/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.token }).toString(),
    });
    expect(asRefresh.status).toBe(401);
  });

  it('rejects a replayed refresh token after `user remove`, and after the user is re-created', async () => {
    const login = (await (await getToken(h, [], alice, { offline_token: 'true', client_id: 'docker' })).json()) as { refresh_token: string };
    const refresh = () => h.fetch('/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refresh_token, client_id: 'docker', scope: 'repository:alice/app:pull' }).toString(),
    });
    expect((await refresh()).status).toBe(200);
    await h.store.deletePrincipal('alice');
    expect((await refresh()).status).toBe(401);
    await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'] });
    expect((await refresh()).status).toBe(401);
  });
});

describe('abuse resistance', () => {
  it('never writes secrets to the log', async () => {
    const lines: string[] = [];
    const logged = await authHarness({ logger: { log: (level, message, fields) => lines.push(JSON.stringify({ level, message, fields })) } });
    try {
      await logged.addUser('carol', 'carol-secret-password', { 'carol/*': ['pull', 'push'] });
      await getToken(logged, [], basic('carol', 'wrong-secret-attempt'));
      const login = (await (await getToken(logged, ['repository:carol/app:pull,push'], basic('carol', 'carol-secret-password'), { offline_token: 'true' })).json()) as { token: string; refresh_token: string };
      await pushImage(logged, 'carol/app', bearer(login.token));
      const text = lines.join('\n');
      expect(text).toContain('login failed');
      for (const secret of ['carol-secret-password', 'wrong-secret-attempt', login.token, login.refresh_token]) expect(text).not.toContain(secret);
    } finally {
      await logged.close();
    }
  });
});

it('publishes nothing but public keys', async () => {
  const jwks = await h.keys.jwks();
  expect(jwks.keys).toHaveLength(1);
  expect(jwks.keys[0]).not.toHaveProperty('d');
  expect(createPublicKey({ key: jwks.keys[0]!, format: 'jwk' }).asymmetricKeyType).toBe('ed25519');
});
