import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authHarness, basic, bearer, getToken, pushImage, tokenFor, type AuthHarness } from './harness';

let h: AuthHarness;
beforeEach(async () => {
  h = await authHarness();
  await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'], 'shared/**': ['pull'] });
});
afterEach(() => h.close());

const alice = basic('alice', 'alice-password');

describe('challenge and login', () => {
  it('answers GET /v2/ without credentials with a Bearer challenge naming the realm and service', async () => {
    const response = await h.fetch('/v2/');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="http://registry.test/token",service="nimbus-test"');
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
  });

  it('names the configured public URL as the realm, whatever Host or X-Forwarded-* headers a client sends', async () => {
    const forged = { 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https', forwarded: 'host=attacker.example;proto=https' };
    const challenges = [
      await h.fetch('http://attacker.example/v2/', { headers: forged }),
      await h.fetch('http://attacker.example:8443/v2/alice/app/manifests/v1', { headers: forged }),
      await h.fetch('http://attacker.example/token', { headers: { ...forged, authorization: basic('alice', 'wrong') } }),
      await h.fetch('http://attacker.example/v2/', { headers: { ...forged, authorization: bearer('not-a-token') } }),
    ];
    for (const response of challenges) {
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="http:\/\/registry\.test\/token",service="nimbus-test"/);
    }
  });

  it('logs in the way docker does: offline_token=true returns a refresh token, and the token opens /v2/', async () => {
    const response = await getToken(h, [], alice, { account: 'alice', client_id: 'docker', offline_token: 'true' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ expires_in: 300 });
    expect(body.token).toBe(body.access_token);
    expect(typeof body.refresh_token).toBe('string');
    expect(new Date(String(body.issued_at)).getTime()).toBe(h.clock.now());
    expect((await h.fetch('/v2/', { headers: { authorization: bearer(String(body.token)) } })).status).toBe(200);
  });

  it('refuses a wrong password at the token endpoint, and does not mint a refresh token for anonymous callers', async () => {
    const wrong = await getToken(h, [], basic('alice', 'nope'), { offline_token: 'true' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
    expect((await getToken(h, [], basic('mallory', 'x'))).status).toBe(401);
    const anonymous = (await (await getToken(h, [], undefined, { offline_token: 'true' })).json()) as Record<string, unknown>;
    expect(anonymous.refresh_token).toBeUndefined();
  });
});

describe('scopes and grants', () => {
  it('pushes and pulls with a token for the granted scope', async () => {
    const token = await tokenFor(h, ['repository:alice/app:pull,push']);
    expect(await pushImage(h, 'alice/app', bearer(token))).toBe(401); // anonymous token: no access
    const aliceToken = await tokenFor(h, ['repository:alice/app:pull,push'], alice);
    expect(await pushImage(h, 'alice/app', bearer(aliceToken))).toBe(201);
    const pull = await h.fetch('/v2/alice/app/manifests/v1', { headers: { authorization: bearer(aliceToken) } });
    expect(pull.status).toBe(200);
  });

  it('intersects requested scopes with grants, across several scope parameters', async () => {
    const response = await getToken(h, ['repository:alice/app:push,pull', 'repository:shared/base:pull,push', 'repository:bob/app:pull'], alice);
    const body = (await response.json()) as { scope: string };
    expect(body.scope).toBe('repository:alice/app:pull,push repository:shared/base:pull');
  });

  it('answers 403 DENIED to a logged-in caller without the grant, and 401 naming the scope when only the token lacks it', async () => {
    const denied = await tokenFor(h, ['repository:bob/app:pull,push'], alice);
    const post = await h.fetch('/v2/bob/app/blobs/uploads/', { method: 'POST', headers: { authorization: bearer(denied) } });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');

    const pullOnly = await tokenFor(h, ['repository:alice/app:pull'], alice);
    const push = await h.fetch('/v2/alice/app/blobs/uploads/', { method: 'POST', headers: { authorization: bearer(pullOnly) } });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://registry.test/token",service="nimbus-test",scope="repository:alice/app:push",error="insufficient_scope"',
    );
  });

  it('accepts Basic credentials sent straight to /v2/, with the same grants', async () => {
    expect(await pushImage(h, 'alice/direct', alice)).toBe(201);
    expect((await h.fetch('/v2/alice/direct/manifests/v1', { headers: { authorization: alice } })).status).toBe(200);
    expect(await pushImage(h, 'bob/direct', alice)).toBe(403);
    const wrong = await h.fetch('/v2/alice/direct/manifests/v1', { headers: { authorization: basic('alice', 'wrong') } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('scope="repository:alice/direct:pull"');
  });

  it('serves anonymous pulls only where a pattern allows them', async () => {
    await h.addUser('admin', 'admin-password', { '**': ['pull', 'push', 'delete'] });
    const admin = basic('admin', 'admin-password');
    expect(await pushImage(h, 'public/app', admin)).toBe(201);
    expect(await pushImage(h, 'private/app', admin)).toBe(201);
    await h.store.setGrants('anonymous', [{ pattern: 'public/*', actions: ['pull'] }]);

    const token = await tokenFor(h, ['repository:public/app:pull', 'repository:private/app:pull']);
    expect((await h.fetch('/v2/public/app/manifests/v1', { headers: { authorization: bearer(token) } })).status).toBe(200);
    expect((await h.fetch('/v2/private/app/manifests/v1', { headers: { authorization: bearer(token) } })).status).toBe(401);
    // Without any token too (curl), where configured only.
    expect((await h.fetch('/v2/public/app/manifests/v1')).status).toBe(200);
    expect((await h.fetch('/v2/private/app/manifests/v1')).status).toBe(401);
    expect(await pushImage(h, 'public/app', bearer(token))).toBe(401);
  });

  it('applies grant changes to the next token without a restart', async () => {
    const before = (await (await getToken(h, ['repository:team/app:push'], alice)).json()) as { scope: string };
    expect(before.scope).toBe('');
    await h.store.setGrants('alice', [...(await h.store.grantsOf('alice')), { pattern: 'team/*', actions: ['push'] }]);
    const after = (await (await getToken(h, ['repository:team/app:push'], alice)).json()) as { scope: string };
    expect(after.scope).toBe('repository:team/app:push');
  });

  it('lists the catalog only for callers who may pull everything', async () => {
    const catalogScope = ['registry:catalog:*'];
    const aliceToken = await tokenFor(h, catalogScope, alice);
    expect((await h.fetch('/v2/_catalog', { headers: { authorization: bearer(aliceToken) } })).status).toBe(403);
    await h.addUser('admin', 'admin-password', { '**': ['pull'] });
    const adminToken = await tokenFor(h, catalogScope, basic('admin', 'admin-password'));
    const catalog = await h.fetch('/v2/_catalog', { headers: { authorization: bearer(adminToken) } });
    expect(catalog.status).toBe(200);
    const unauthenticated = await h.fetch('/v2/_catalog');
    expect(unauthenticated.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
  });

  it('mounts a blob only from a repository the token may pull', async () => {
    expect(await pushImage(h, 'alice/source', alice)).toBe(201);
    const manifest = (await (await h.fetch('/v2/alice/source/manifests/v1', { headers: { authorization: alice } })).json()) as { config: { digest: string } };
    const digest = manifest.config.digest;
    const withSource = await tokenFor(h, ['repository:alice/target:push,pull', 'repository:alice/source:pull'], alice);
    const mounted = await h.fetch(`/v2/alice/target/blobs/uploads/?mount=${digest}&from=alice/source`, { method: 'POST', headers: { authorization: bearer(withSource) } });
    expect(mounted.status).toBe(201);
    const withoutSource = await tokenFor(h, ['repository:alice/other:push,pull'], alice);
    const notMounted = await h.fetch(`/v2/alice/other/blobs/uploads/?mount=${digest}&from=alice/source`, { method: 'POST', headers: { authorization: bearer(withoutSource) } });
    expect(notMounted.status).toBe(202);
  });

  it("names a mount's source in the challenge, so a client that requests the challenged scope mounts (as distribution does)", async () => {
    expect(await pushImage(h, 'alice/source', alice)).toBe(201);
    const manifest = (await (await h.fetch('/v2/alice/source/manifests/v1', { headers: { authorization: alice } })).json()) as { config: { digest: string } };
    const mountPath = `/v2/alice/target/blobs/uploads/?mount=${manifest.config.digest}&from=alice/source`;
    const challenge = (await h.fetch(mountPath, { method: 'POST' })).headers.get('www-authenticate') ?? '';
    const scope = /scope="([^"]*)"/.exec(challenge)?.[1];
    expect(scope).toBe('repository:alice/target:push repository:alice/source:pull');
    // The challenged scope, sent back as one value (the conformance suite's client does this).
    const token = await tokenFor(h, [scope!], alice);
    expect((await h.fetch(mountPath, { method: 'POST', headers: { authorization: bearer(token) } })).status).toBe(201);
    // Pull on the source is not required: a caller without it uploads instead.
    await h.addUser('bob', 'bob-password', { 'bob/*': ['pull', 'push'] });
    const bobPath = `/v2/bob/target/blobs/uploads/?mount=${manifest.config.digest}&from=alice/source`;
    const bobToken = await tokenFor(h, [/scope="([^"]*)"/.exec((await h.fetch(bobPath, { method: 'POST' })).headers.get('www-authenticate') ?? '')![1]!], basic('bob', 'bob-password'));
    expect((await h.fetch(bobPath, { method: 'POST', headers: { authorization: bearer(bobToken) } })).status).toBe(202);
  });

  it('names only the target in the challenge of an upload without a mount source, or with one that is no repository name', async () => {
    for (const query of ['', '?mount=sha256:aa', '?from=alice/source', '?mount=sha256:aa&from=Alice%22,x="y', '?mount=sha256:aa&from=alice/target']) {
      const challenge = (await h.fetch(`/v2/alice/target/blobs/uploads/${query}`, { method: 'POST' })).headers.get('www-authenticate');
      expect(challenge, query).toBe('Bearer realm="http://registry.test/token",service="nimbus-test",scope="repository:alice/target:push"');
    }
  });
});

describe('POST /token', () => {
  const form = (fields: Record<string, string>) => ({
    method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

  it('covers grant_type=password and grant_type=refresh_token (containers/image), with space-separated scopes', async () => {
    const login = await h.fetch('/token', form({ grant_type: 'password', username: 'alice', password: 'alice-password', access_type: 'offline', client_id: 'containers/image', service: 'nimbus-test' }));
    expect(login.status).toBe(200);
    const { refresh_token: refreshToken } = (await login.json()) as { refresh_token: string };
    const refreshed = await h.fetch('/token', form({
      grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'containers/image', service: 'nimbus-test',
      scope: 'repository:alice/app:pull,push repository:shared/x:pull',
    }));
    expect(refreshed.status).toBe(200);
    const body = (await refreshed.json()) as { access_token: string; scope: string; refresh_token: string };
    expect(body.scope).toBe('repository:alice/app:pull,push repository:shared/x:pull');
    expect(body.refresh_token).toBe(refreshToken);
    expect(await pushImage(h, 'alice/app', bearer(body.access_token))).toBe(201);
  });

  it('reads at most 64 KiB of a form, refusing more with 413 without reading the rest', async () => {
    const big = await h.fetch('/token', form({ grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('SIZE_INVALID');
    // A body that never ends, without Content-Length: the answer comes after 64 KiB, and the rest is never pulled.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 16 * 1024;
        controller.enqueue(new TextEncoder().encode('a'.repeat(16 * 1024)));
      },
    }, { highWaterMark: 0 });
    const init = { method: 'POST', body: endless, headers: { 'content-type': 'application/x-www-form-urlencoded' }, duplex: 'half' };
    const response = await h.fetch('/token', init);
    expect(response.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(128 * 1024);
    // Within the limit, a form works as before.
    expect((await h.fetch('/token', form({ grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'repository:alice/app:pull'.padEnd(60_000, ' ') }))).status).toBe(200);
  });

  it('refuses a wrong password and unknown grant types', async () => {
    expect((await h.fetch('/token', form({ grant_type: 'password', username: 'alice', password: 'x' }))).status).toBe(401);
    expect((await h.fetch('/token', form({ grant_type: 'client_credentials' }))).status).toBe(400);
  });
});
