import { afterEach, describe, expect, it } from 'vitest';
import { authHarness, basic, bearer, pushImage, tokenFor, type AuthHarness } from './harness';

// POST /v2/_nimbus/gc is registry administration: scope registry:nimbus:*, granted only to a
// principal with pull, push and delete on **.
let h: AuthHarness;
afterEach(() => h.close());

async function adminToken(name: string): Promise<string> {
  return tokenFor(h, ['registry:nimbus:*'], basic(name, 'password-1234'));
}

describe('POST /v2/_nimbus/gc', () => {
  it('asks anonymous callers to log in for the admin scope', async () => {
    h = await authHarness({ withGc: true });
    const response = await h.fetch('/v2/_nimbus/gc', { method: 'POST' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('scope="registry:nimbus:*"');
  });

  it('refuses a user without ** pull,push,delete (403 DENIED), and runs the pass for one with it', async () => {
    h = await authHarness({ withGc: true });
    await h.addUser('dev', 'password-1234', { '**': ['pull', 'push'], 'team/**': ['pull', 'push', 'delete'] });
    await h.addUser('admin', 'password-1234', { '**': ['pull', 'push', 'delete'] });
    const refused = await h.fetch('/v2/_nimbus/gc', { method: 'POST', headers: { authorization: bearer(await adminToken('dev')) } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED');

    const admin = bearer(await adminToken('admin'));
    expect(await pushImage(h, 'team/app', bearer(await tokenFor(h, ['repository:team/app:pull,push,delete'], basic('admin', 'password-1234'))))).toBe(201);
    const response = await h.fetch('/v2/_nimbus/gc?dryRun=1&minAge=0&full=1', { method: 'POST', headers: { authorization: admin } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toMatchObject({ dryRun: true, full: true, complete: true, blobsDeleted: 0, deleted: [] });
  });

  it('answers 400 with a spec error for query values it cannot mean', async () => {
    h = await authHarness({ withGc: true });
    await h.addUser('admin', 'password-1234', { '**': ['pull', 'push', 'delete'] });
    const admin = bearer(await adminToken('admin'));
    for (const query of ['minAge=-1', 'minAge=1h', 'minAge=99999999999', 'dryRun=maybe', 'full=2', 'window=5']) {
      const response = await h.fetch(`/v2/_nimbus/gc?${query}`, { method: 'POST', headers: { authorization: admin } });
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors[0]!.code, query).toBe('UNSUPPORTED');
    }
    const get = await h.fetch('/v2/_nimbus/gc', { headers: { authorization: admin } });
    expect(get.status).toBe(405);
  });

  it('answers 404 UNSUPPORTED, saying why, on a registry whose store has no collector', async () => {
    h = await authHarness();
    await h.addUser('admin', 'password-1234', { '**': ['pull', 'push', 'delete'] });
    const response = await h.fetch('/v2/_nimbus/gc', { method: 'POST', headers: { authorization: bearer(await adminToken('admin')) } });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('garbage collection') });
  });
});
