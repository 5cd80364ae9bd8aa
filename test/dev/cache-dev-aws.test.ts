import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders, localNimbusTarget, type RunningTarget } from '../support/registry-target';
import { CountingProxy } from '../support/counting-proxy';
import { MANIFEST_ACCEPT, pullImage, pushImage, type PushedImage } from '../support/cache-images';
import { runNimbus } from '../support/nimbus-cli';

const MiB = 1024 * 1024;
/** What dev:aws is told it may fill from upstream in one request (NIMBUS_CACHE_MAX_FILL_BYTES). */
const MAX_FILL = 8 * MiB;

describe('pull-through cache on dev:aws without an upload endpoint: fills in the Lambda', () => {
  let upstream: RunningTarget;
  let proxy: CountingProxy;
  let devAws: RunningDevAws;
  let image: PushedImage;
  let large: PushedImage;

  /** A line dev:aws printed, waited for (its log reaches us through a pipe, after its answer may have). */
  function logged(text: string): Promise<unknown> {
    return devAws.logs().includes(text) ? Promise.resolve(true) : devAws.waitForLog((line) => (line.includes(text) ? true : undefined), 15_000);
  }

  beforeAll(async () => {
    [upstream, devAws] = await Promise.all([
      localNimbusTarget({ auth: true }).start(),
      // Every tag pull rechecks upstream (one HEAD), so a stopped upstream is noticed at once.
      devAwsTarget({ uploadEndpoint: false, env: { NIMBUS_CACHE_RECHECK_MINUTES: '0', NIMBUS_CACHE_MAX_FILL_BYTES: String(MAX_FILL) } }).start(),
    ]);
    proxy = await CountingProxy.start(upstream.url);
    // A 6 MiB layer is over what one Lambda response may carry: it must reach the client from S3, not through the function.
    [image, large] = await Promise.all([
      pushImage(upstream.url, 'team/app', '1', [6 * MiB, 256 * 1024], authHeaders(upstream)),
      pushImage(upstream.url, 'team/big', '1', [MAX_FILL + 1], authHeaders(upstream)),
    ]);
    await addMirrorRule(upstream, proxy, devAws);
  }, 240_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([upstream?.stop(), devAws?.stop()]);
  });

  it('fills through the Lambda: one upstream GET per blob for concurrent pulls, none for the next, bytes from S3', async () => {
    const headers = authHeaders(devAws);
    const total = image.blobs.reduce((sum, blob) => sum + blob.size, 0);
    const pulls = await Promise.all(Array.from({ length: 4 }, () => pullImage(devAws.url, 'mirror/team/app', '1', { verify: true, headers })));
    for (const pulled of pulls) expect(pulled).toEqual({ digest: image.digest, bytes: total });
    for (const blob of image.blobs) expect(proxy.count('GET', `/blobs/${blob.digest}`), blob.digest).toBe(1);

    const layer = image.blobs[1]!;
    const redirect = await fetch(`${devAws.url}/v2/mirror/team/app/blobs/${layer.digest}`, { headers, redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(new URL(redirect.headers.get('location')!).origin).toBe(new URL(devAws.s3Endpoint).origin);

    const before = proxy.count('GET', '/blobs/');
    expect(await pullImage(devAws.url, 'mirror/team/app', '1', { verify: true, headers })).toEqual({ digest: image.digest, bytes: total });
    expect(proxy.count('GET', '/blobs/')).toBe(before);
  }, 120_000);

  it('answers 503 naming NIMBUS_CACHE_MAX_FILL_BYTES for a blob larger than the function fills, storing nothing', async () => {
    const headers = authHeaders(devAws);
    const manifest = await fetch(`${devAws.url}/v2/mirror/team/big/manifests/1`, { headers: { ...headers, accept: MANIFEST_ACCEPT } });
    expect(manifest.status).toBe(200);
    const layer = large.blobs[1]!;
    const refused = await fetch(`${devAws.url}/v2/mirror/team/big/blobs/${layer.digest}`, { headers });
    expect(refused.status).toBe(503);
    const error = ((await refused.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]!;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/NIMBUS_CACHE_MAX_FILL_BYTES/);
    expect(error.message).toMatch(/skopeo copy/);
  });

  it('with the upstream stopped, a cached tag still pulls (with a warning); upstream credentials never reach the log', async () => {
    const headers = authHeaders(devAws);
    await pullImage(devAws.url, 'mirror/team/app', '1', { headers });
    proxy.down = true;
    try {
      expect(await pullImage(devAws.url, 'mirror/team/app', '1', { verify: true, headers })).toMatchObject({ digest: image.digest });
      expect(await logged('cache upstream unavailable: serving the cached copy')).toBe(true);
      const missing = await fetch(`${devAws.url}/v2/mirror/team/app/manifests/never-pulled`, { headers: { ...headers, accept: MANIFEST_ACCEPT } });
      expect(missing.status).toBe(503);
    } finally {
      proxy.down = false;
    }
    const creds = upstream.credentials!;
    const logs = devAws.logs();
    expect(logs).toContain('cache filled manifest');
    for (const secret of [creds.password, Buffer.from(`${creds.username}:${creds.password}`).toString('base64')]) expect(logs).not.toContain(secret);
  }, 60_000);
});

describe('pull-through cache on dev:aws with the upload endpoint: blob fills stream there', () => {
  let upstream: RunningTarget;
  let proxy: CountingProxy;
  let devAws: RunningDevAws;
  let image: PushedImage;

  beforeAll(async () => {
    [upstream, devAws] = await Promise.all([
      localNimbusTarget({ auth: true }).start(),
      // The function's own limit stays small: a layer over it can only have come through the endpoint.
      devAwsTarget({ uploadEndpoint: true, env: { NIMBUS_CACHE_MAX_FILL_BYTES: String(MiB) } }).start(),
    ]);
    proxy = await CountingProxy.start(upstream.url);
    image = await pushImage(upstream.url, 'team/app', '1', [12 * MiB, 3 * MiB], authHeaders(upstream));
    await addMirrorRule(upstream, proxy, devAws);
  }, 240_000);

  afterAll(async () => {
    await proxy?.close();
    await Promise.all([upstream?.stop(), devAws?.stop()]);
  });

  it('redirects a blob miss to the endpoint, which fills it once for concurrent pulls; the next pull makes no upstream GET', async () => {
    const headers = authHeaders(devAws);
    const layer = image.blobs[1]!;
    const redirect = await fetch(`${devAws.url}/v2/mirror/team/app/blobs/${layer.digest}`, { headers, redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const fillLink = new URL(redirect.headers.get('location')!);
    expect(fillLink.origin).toBe(new URL(devAws.uploadEndpoint()!.url).origin);
    expect(fillLink.pathname).toBe(`/v2/mirror/team/app/_nimbus/fill/${layer.digest}`);
    // The capability is bound to its blob: the same link for another digest is refused.
    const forged = new URL(fillLink.href.replace(layer.digest, image.blobs[2]!.digest));
    expect((await fetch(forged)).status).toBe(403);
    expect(proxy.count('GET', '/blobs/')).toBe(0);

    const total = image.blobs.reduce((sum, blob) => sum + blob.size, 0);
    const pulls = await Promise.all(Array.from({ length: 4 }, () => pullImage(devAws.url, 'mirror/team/app', '1', { verify: true, headers })));
    for (const pulled of pulls) expect(pulled).toEqual({ digest: image.digest, bytes: total });
    // Transfers: the endpoint's first request also meets the upstream's 401 challenge (then a token), which carries no blob.
    const transfers = (digest: string) => proxy.seen.filter((each) => each.method === 'GET' && each.path.includes(`/blobs/${digest}`) && each.status === 200).length;
    for (const blob of image.blobs) expect(transfers(blob.digest), blob.digest).toBe(1);
    const before = proxy.count('GET', '/blobs/');
    expect(await pullImage(devAws.url, 'mirror/team/app', '1', { verify: true, headers })).toEqual({ digest: image.digest, bytes: total });
    expect(proxy.count('GET', '/blobs/')).toBe(before);
    const creds = upstream.credentials!;
    for (const secret of [creds.password, Buffer.from(`${creds.username}:${creds.password}`).toString('base64')]) expect(devAws.logs()).not.toContain(secret);
  }, 120_000);
});

/** `nimbus cache add mirror <proxy> --username … --password-stdin` against dev:aws, as an admin would. */
async function addMirrorRule(upstream: { credentials?: { username: string; password: string } }, proxy: { url: string }, devAws: { url: string; credentials: { username: string; password: string } }): Promise<void> {
  const creds = upstream.credentials!;
  const added = await runNimbus(['cache', 'add', 'mirror', proxy.url, '--username', creds.username, '--password-stdin', '--registry', devAws.url], {
    env: { NIMBUS_USERNAME: devAws.credentials.username, NIMBUS_PASSWORD: devAws.credentials.password }, input: `${creds.password}\n`,
  });
  expect(added.code, added.stderr).toBe(0);
}
