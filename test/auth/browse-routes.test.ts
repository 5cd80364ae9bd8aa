/**
 * The browse UI under token auth: the page itself needs no login; its read routes need what the
 * routes they extend need (the search: pull on every repository, like _catalog; the rest: pull
 * on the repository), through the same tokens; nothing there needs administration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../harness/ui-images';
import { authHarness, type AuthHarness } from './harness';

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('browse routes under token auth', () => {
  let h: AuthHarness;
  let digest: string;

  beforeAll(async () => {
    h = await authHarness();
    await h.addUser('pusher', 'pusher-password', { '**': ['pull', 'push'] });
    await h.addUser('teamer', 'teamer-password', { 'team/*': ['pull'] });
    await h.store.setGrants('anonymous', [{ pattern: 'public/*', actions: ['pull'] }]);
    const pusher = { base: 'http://registry.test', headers: basic('pusher', 'pusher-password'), fetch: (request: Request) => h.registry.fetch(request) };
    digest = (await pushImage(pusher, 'team/app', 'v1')).digest;
    await pushImage(pusher, 'public/tool', 'v1');
    await pushImage(pusher, 'other/secret', 'v1');
  });
  afterAll(() => h?.close());

  async function anonymousToken(scope: string): Promise<string> {
    const response = await h.fetch(`/token?service=nimbus-test&scope=${encodeURIComponent(scope)}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  }

  it('serves the UI itself without credentials', async () => {
    expect((await h.fetch('/ui/')).status).toBe(200);
  });

  it('lets anonymous callers browse where anonymous pull is granted, with an anonymous token', async () => {
    const token = await anonymousToken('repository:public/tool:pull');
    const bearer = { Authorization: `Bearer ${token}` };
    expect((await h.fetch('/v2/public/tool/_nimbus/tags', { headers: bearer })).status).toBe(200);
    expect((await h.fetch('/v2/public/tool/_nimbus/storage', { headers: bearer })).status).toBe(200);
    const challenged = await h.fetch('/v2/team/app/_nimbus/tags');
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toContain('scope="repository:team/app:pull"');
    const search = await h.fetch('/v2/_nimbus/repositories', { headers: { Authorization: `Bearer ${await anonymousToken('registry:catalog:*')}` } });
    expect(search.status).toBe(401);
  });

  it('needs pull on every repository to search them, and pull on a repository for its summaries', async () => {
    const teamer = basic('teamer', 'teamer-password');
    expect((await h.fetch('/v2/team/app/_nimbus/tags', { headers: teamer })).status).toBe(200);
    expect((await h.fetch(`/v2/team/app/_nimbus/summary/${digest}`, { headers: teamer })).status).toBe(200);
    expect((await h.fetch('/v2/other/secret/_nimbus/storage', { headers: teamer })).status).toBe(403);
    expect((await h.fetch('/v2/_nimbus/repositories', { headers: teamer })).status).toBe(403);
    const everyone = await h.fetch('/v2/_nimbus/repositories?q=o', { headers: basic('pusher', 'pusher-password') });
    expect(await everyone.json()).toMatchObject({ repositories: ['other/secret', 'public/tool'] });
  });
});
