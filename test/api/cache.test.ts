import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localNimbusTarget, authHeaders, type RunningTarget } from '../support/registry-target';
import { distributionTarget } from '../support/distribution-target';
import { CountingProxy } from '../support/counting-proxy';
import { MANIFEST_ACCEPT, pullImage, pushImage, type PushedImage } from '../support/cache-images';
import { runNimbus } from '../support/nimbus-cli';

const MiB = 1024 * 1024;
/** The cold image 20 clients pull at once: 4 layers of 50 MiB. */
const COLD_LAYERS = [50 * MiB, 50 * MiB, 50 * MiB, 50 * MiB];
const DIST_USER = 'cacheuser';
const DIST_PASSWORD = `dist-${crypto.randomUUID()}`;

/** A server's log reaches us through a pipe, after its answer may have: wait for the line (up to 15 s). */
async function logged(target: RunningTarget, text: string): Promise<boolean> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    if (target.logs().includes(text)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return target.logs().includes(text);
}

/**
 * Pull-through cache (issue 15) against npm start: a second Nimbus with token auth (Bearer flow)
 * and CNCF distribution with htpasswd (Basic) as upstreams, each behind a counting proxy.
 */
describe('pull-through cache (npm start)', () => {
  let nimbusUpstream: RunningTarget;
  let distribution: RunningTarget;
  let registry: RunningTarget;
  let viaNimbus: CountingProxy;
  let viaDistribution: CountingProxy;
  let cold: PushedImage;
  let small: PushedImage;
  let streamed: PushedImage;

  beforeAll(async () => {
    [nimbusUpstream, distribution, registry] = await Promise.all([
      localNimbusTarget({ auth: true }).start(),
      distributionTarget({ htpasswd: `${DIST_USER}:${bcrypt.hashSync(DIST_PASSWORD, 4)}\n` }).start(),
      // Every tag pull rechecks upstream (HEAD), so a stopped upstream is noticed; debug logs the most.
      localNimbusTarget({ logLevel: 'debug', env: { NIMBUS_CACHE_RECHECK_MINUTES: '0' } }).start(),
    ]);
    [viaNimbus, viaDistribution] = await Promise.all([CountingProxy.start(nimbusUpstream.url), CountingProxy.start(distribution.url)]);
    const upstreamAuth = authHeaders(nimbusUpstream);
    const distAuth = { Authorization: `Basic ${Buffer.from(`${DIST_USER}:${DIST_PASSWORD}`).toString('base64')}` };
    [cold, small, streamed] = await Promise.all([
      pushImage(nimbusUpstream.url, 'team/app', '1', COLD_LAYERS, upstreamAuth),
      pushImage(distribution.url, 'team/tool', 'v2', [64 * 1024, 32 * 1024], distAuth),
      pushImage(nimbusUpstream.url, 'team/slow', '1', [8 * MiB], upstreamAuth),
    ]);
    const env = { NIMBUS_URL: registry.url };
    const creds = nimbusUpstream.credentials!;
    const added = await Promise.all([
      runNimbus(['cache', 'add', 'mirror', viaNimbus.url, '--username', creds.username, '--password-stdin'], { env, input: `${creds.password}\n` }),
      runNimbus(['cache', 'add', 'dist', viaDistribution.url, '--username', DIST_USER, '--password-stdin', '--expire-unpulled-days', '7'], { env, input: `${DIST_PASSWORD}\n` }),
    ]);
    for (const run of added) expect(run.code, run.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([viaNimbus?.close(), viaDistribution?.close()]);
    await Promise.all([nimbusUpstream?.stop(), distribution?.stop(), registry?.stop()]);
  });

  it('20 concurrent pulls of a cold 200 MiB image make exactly one upstream GET per blob; the second pull makes none', async () => {
    const pulls = await Promise.all(Array.from({ length: 20 }, (_, index) => pullImage(registry.url, 'mirror/team/app', '1', { verify: index === 0 })));
    const total = cold.blobs.reduce((sum, blob) => sum + blob.size, 0);
    for (const pulled of pulls) expect(pulled).toEqual({ digest: cold.digest, bytes: total });
    for (const blob of cold.blobs) expect(viaNimbus.count('GET', `/blobs/${blob.digest}`), blob.digest).toBe(1);

    const before = viaNimbus.count('GET', '/blobs/');
    expect(await pullImage(registry.url, 'mirror/team/app', '1', { verify: true })).toEqual({ digest: cold.digest, bytes: total });
    expect(viaNimbus.count('GET', '/blobs/')).toBe(before);
  }, 120_000);

  it('streams a blob to the first requester before the upstream has sent all of it', async () => {
    const layer = streamed.blobs[1]!;
    const hold = viaNimbus.hold(`/blobs/${layer.digest}`, MiB);
    const manifest = await fetch(`${registry.url}/v2/mirror/team/slow/manifests/1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(manifest.status).toBe(200);
    const response = await fetch(`${registry.url}/v2/mirror/team/slow/blobs/${layer.digest}`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await hold.reached;
    // The upstream has sent 1 MiB of 8 and is held: the client still gets bytes.
    let received = 0;
    while (received === 0) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      received += value!.byteLength;
    }
    expect(received).toBeLessThanOrEqual(MiB);
    hold.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(layer.size);
    // Committed: served from storage now, verified.
    expect(await pullImage(registry.url, 'mirror/team/slow', '1', { verify: true })).toMatchObject({ digest: streamed.digest });
  }, 30_000);

  it('pulls through distribution with Basic auth, and never shows or logs the credentials', async () => {
    expect(await pullImage(registry.url, 'dist/team/tool', 'v2', { verify: true })).toMatchObject({ digest: small.digest });
    // Once the fill's log lines are in, none of them may hold a credential.
    expect(await logged(registry, '"msg":"cache filled manifest","repository":"dist/team/tool"')).toBe(true);
    const listed = await runNimbus(['cache', 'list', '--json'], { env: { NIMBUS_URL: registry.url } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({
      version: 1,
      rules: expect.arrayContaining([
        { prefix: 'mirror', upstream: viaNimbus.url, credentials: true, expireUnpulledDays: 30 },
        { prefix: 'dist', upstream: viaDistribution.url, credentials: true, expireUnpulledDays: 7 },
      ]),
    });
    const secrets = [DIST_PASSWORD, nimbusUpstream.credentials!.password];
    const encoded = [`${DIST_USER}:${DIST_PASSWORD}`, `${nimbusUpstream.credentials!.username}:${nimbusUpstream.credentials!.password}`]
      .map((pair) => Buffer.from(pair).toString('base64'));
    const seen = `${registry.logs()}\n${listed.stdout}\n${listed.stderr}`;
    for (const secret of [...secrets, ...encoded]) expect(seen).not.toContain(secret);
  }, 30_000);

  it('refuses upstreams on link-local and metadata addresses', async () => {
    for (const upstream of ['http://169.254.169.254', 'http://[fd00:ec2::254]', 'https://169.254.170.2:8443']) {
      const response = await fetch(`${registry.url}/v2/_nimbus/cache`, {
        method: 'POST', body: JSON.stringify({ prefix: 'evil', upstream }), headers: { 'content-type': 'application/json' },
      });
      expect(response.status, upstream).toBe(400);
      expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('POLICY_INVALID');
    }
  });

  it('with the upstream down, cached tags still pull (with a warning) and uncached ones say UNAVAILABLE', async () => {
    // Cached by the first test, checked upstream on every pull (NIMBUS_CACHE_RECHECK_MINUTES=0).
    await pullImage(registry.url, 'mirror/team/app', '1');
    viaNimbus.down = true;
    try {
      const blobGets = viaNimbus.count('GET', '/blobs/');
      expect(await pullImage(registry.url, 'mirror/team/app', '1', { verify: true })).toMatchObject({ digest: cold.digest });
      expect(viaNimbus.count('GET', '/blobs/')).toBe(blobGets);
      expect(await logged(registry, 'cache upstream unavailable: serving the cached copy')).toBe(true);
      const missing = await fetch(`${registry.url}/v2/mirror/team/app/manifests/never-pulled`, { headers: { accept: MANIFEST_ACCEPT } });
      expect(missing.status).toBe(503);
      expect(((await missing.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAVAILABLE');
    } finally {
      viaNimbus.down = false;
    }
  }, 30_000);
});
