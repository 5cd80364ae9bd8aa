import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { createRegistry, matchRoute, wasmHashing, type Registry } from '../../functions/core/index';
import type { UpstreamHttp } from '../../functions/core/cache/ports';
import { memorySecrets, pusherOnlyAuthorizer as authorizer } from './cache-fixtures';
import { ManualTime } from './manual-time';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function stores(dir: string) {
  const metadata = new FsMetadataStore(dir, { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  await Promise.all([metadata.init(), blobs.init()]);
  return { metadata, blobs, policies: new FsPolicyStore(dir, { fsync: false }) };
}

async function pushBlob(registry: Registry, repository: string, bytes: Uint8Array<ArrayBuffer>): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const response = await registry.fetch(new Request(`http://up/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes }));
  expect(response.status).toBe(201);
  return { digest, size: bytes.byteLength };
}

async function pushManifest(registry: Registry, repository: string, reference: string, body: string, mediaType: string): Promise<string> {
  const response = await registry.fetch(new Request(`http://up/v2/${repository}/manifests/${reference}`, { method: 'PUT', body, headers: { 'content-type': mediaType } }));
  expect(response.status).toBe(201);
  return sha256(body);
}

async function pushImage(registry: Registry, repository: string, tag?: string): Promise<{ digest: string; body: string; blobs: string[] }> {
  const config = await pushBlob(registry, repository, new Uint8Array(randomBytes(64)));
  const layer = await pushBlob(registry, repository, new Uint8Array(randomBytes(4096)));
  const body = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  });
  const digest = await pushManifest(registry, repository, tag ?? sha256(body), body, OCI_MANIFEST);
  return { digest, body, blobs: [config.digest, layer.digest] };
}

describe('pull-through cache (in process)', () => {
  let dir: string;
  let upstream: Registry;
  let registry: Registry;
  let time: ManualTime;
  /** Every request the upstream saw: "GET /v2/team/app/manifests/1". */
  let seen: string[];
  /** Set to corrupt the bodies of upstream blob GETs. */
  let corrupt: boolean;
  /** Set to make every upstream request fail as a refused connection does. */
  let upstreamDown: boolean;

  const pull = (path: string, user = 'reader', method = 'GET') => registry.fetch(new Request(`http://nimbus/v2/${path}`, { method, headers: { 'x-user': user, accept: ACCEPT } }));
  const addRule = async (rule: Record<string, unknown>) => {
    const response = await registry.fetch(new Request('http://nimbus/v2/_nimbus/cache', { method: 'POST', body: JSON.stringify(rule) }));
    expect(response.status).toBe(200);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-cache-unit-'));
    const up = await stores(join(dir, 'up'));
    upstream = createRegistry({ ...up, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(1), blobRedirectSeconds: 0 } });
    seen = [];
    corrupt = false;
    upstreamDown = false;
    const http: UpstreamHttp = {
      async fetch(url, request) {
        seen.push(`${request.method} ${new URL(url).pathname}`);
        if (upstreamDown) throw new Error('connect ECONNREFUSED');
        const response = await upstream.fetch(new Request(url, { method: request.method, headers: request.headers }));
        if (!corrupt || !url.includes('/blobs/') || request.method !== 'GET') return response;
        const bytes = new Uint8Array(await response.arrayBuffer());
        bytes[0] = bytes[0]! ^ 0xff;
        return new Response(bytes, { status: response.status, headers: response.headers });
      },
    };
    time = new ManualTime();
    const down = await stores(join(dir, 'down'));
    const blobLocks = new KeyedMutex();
    registry = createRegistry({
      ...down, hashing: wasmHashing, authorizer, clock: time, inventory: down.metadata, blobLocks,
      gc: new FsGcStore(join(dir, 'down'), { metadata: down.metadata, locks: blobLocks, fsync: false }),
      config: { uploadSecret: new Uint8Array(32).fill(2), blobRedirectSeconds: 0 },
      cache: { http, secrets: memorySecrets(), tagRecheckSeconds: 600 },
    });
    await addRule({ prefix: 'mirror', upstream: 'http://upstream.test' });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fills only for principals with push on the repository, unless the rule opens fills; cached content pulls like any', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    expect((await pull('mirror/team/app/manifests/1')).status).toBe(404);
    expect(seen).toEqual([]);
    const filled = await pull('mirror/team/app/manifests/1', 'pusher');
    expect(filled.status).toBe(200);
    expect(await filled.text()).toBe(image.body);
    // Readers see the cached manifest, but a blob not filled yet stays unknown to them.
    expect((await pull('mirror/team/app/manifests/1')).status).toBe(200);
    expect((await pull(`mirror/team/app/blobs/${image.blobs[1]}`)).status).toBe(404);
    await addRule({ prefix: 'mirror', upstream: 'http://upstream.test', openFills: true });
    const blob = await pull(`mirror/team/app/blobs/${image.blobs[1]}`);
    expect(blob.status).toBe(200);
    expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(image.blobs[1]);
  });

  it('fetches an index, then each child only when it is asked for by digest', async () => {
    const [amd, arm] = [await pushImage(upstream, 'team/multi'), await pushImage(upstream, 'team/multi')];
    const index = JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [amd, arm].map((child, i) => ({ mediaType: OCI_MANIFEST, digest: child.digest, size: child.body.length, platform: { os: 'linux', architecture: ['amd64', 'arm64'][i] } })),
    });
    await pushManifest(upstream, 'team/multi', 'latest', index, OCI_INDEX);
    expect(await (await pull('mirror/team/multi/manifests/latest', 'pusher')).text()).toBe(index);
    expect(seen.filter((line) => line.includes(amd.digest) || line.includes(arm.digest))).toEqual([]);
    expect(await (await pull(`mirror/team/multi/manifests/${arm.digest}`, 'pusher')).text()).toBe(arm.body);
    expect(seen.filter((line) => line.includes(arm.digest))).toEqual([`GET /v2/team/multi/manifests/${arm.digest}`]);
    expect(seen.filter((line) => line.includes(amd.digest))).toEqual([]);
  });

  it('rechecks a tag with one HEAD once the recheck interval has passed, and follows a moved tag', async () => {
    await pushImage(upstream, 'team/app', '1');
    await pull('mirror/team/app/manifests/1', 'pusher');
    time.advance(599_000);
    await pull('mirror/team/app/manifests/1', 'pusher');
    expect(seen.filter((line) => line.includes('/manifests/1'))).toEqual(['GET /v2/team/app/manifests/1']);
    time.advance(2_000);
    await pull('mirror/team/app/manifests/1', 'pusher');
    expect(seen.filter((line) => line.includes('/manifests/1'))).toEqual(['GET /v2/team/app/manifests/1', 'HEAD /v2/team/app/manifests/1']);
    const moved = await pushImage(upstream, 'team/app', '1');
    time.advance(601_000);
    const response = await pull('mirror/team/app/manifests/1', 'pusher');
    expect(response.headers.get('docker-content-digest')).toBe(moved.digest);
    // A digest is never rechecked.
    const before = seen.length;
    time.advance(10 * 601_000);
    expect((await pull(`mirror/team/app/manifests/${moved.digest}`, 'pusher')).status).toBe(200);
    expect(seen.length).toBe(before);
  });

  it('stores nothing when the upstream sends bytes that do not match the digest', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    corrupt = true;
    const response = await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'pusher');
    await expect(response.arrayBuffer()).rejects.toThrow();
    corrupt = false;
    expect((await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'reader', 'HEAD')).status).toBe(404);
    const retried = await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'pusher');
    expect(sha256(new Uint8Array(await retried.arrayBuffer()))).toBe(image.blobs[1]);
  });

  it('links a blob stored for another repository once the upstream confirms it there: one HEAD, no second download', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    // The upstream holds the layer in another repository too.
    await pushBlob(upstream, 'team/copy', new Uint8Array(await (await upstream.fetch(new Request(`http://up/v2/team/app/blobs/${image.blobs[1]}`))).arrayBuffer()));
    // Read whole: the stream ends once the fill has stored the blob.
    expect(sha256(new Uint8Array(await (await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'pusher')).arrayBuffer()))).toBe(image.blobs[1]);
    seen.length = 0;
    const copy = await pull(`mirror/team/copy/blobs/${image.blobs[1]}`, 'pusher');
    expect(sha256(new Uint8Array(await copy.arrayBuffer()))).toBe(image.blobs[1]);
    expect(seen).toEqual([`HEAD /v2/team/copy/blobs/${image.blobs[1]}`]);
    // Stored, but not in this upstream repository: nothing is linked or served.
    seen.length = 0;
    expect((await pull(`mirror/team/other/blobs/${image.blobs[1]}`, 'pusher')).status).toBe(404);
    expect(seen).toEqual([`HEAD /v2/team/other/blobs/${image.blobs[1]}`]);
  });

  it('serves 20 concurrent requesters of a cold blob with one upstream GET', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => new Uint8Array(await (await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'pusher')).arrayBuffer())));
    for (const body of bodies) expect(sha256(body)).toBe(image.blobs[1]);
    expect(seen.filter((line) => line === `GET /v2/team/app/blobs/${image.blobs[1]}`)).toHaveLength(1);
  });

  it('a requester that reads nothing while a blob fills does not hold the fill up, and still gets every byte', async () => {
    const blob = await pushBlob(upstream, 'team/big', new Uint8Array(randomBytes(24 * 1024 * 1024)));
    const leader = await pull(`mirror/team/big/blobs/${blob.digest}`, 'pusher');
    // Answered from storage once the fill is done: the fill went on while the leader read nothing.
    const other = await pull(`mirror/team/big/blobs/${blob.digest}`, 'pusher');
    expect(sha256(new Uint8Array(await other.arrayBuffer()))).toBe(blob.digest);
    expect(sha256(new Uint8Array(await leader.arrayBuffer()))).toBe(blob.digest);
    expect(seen.filter((line) => line.startsWith('GET') && line.includes(blob.digest))).toHaveLength(1);
  });

  it('serves the cache rules only on admin routes', () => {
    const route = matchRoute('/v2/_nimbus/cache')!.route;
    for (const method of ['GET', 'POST', 'DELETE']) {
      const access = route.methods[method]!.access;
      expect(typeof access === 'function' && access({}, new URLSearchParams()).admin, method).toBe(true);
    }
  });

  it('the root mirror fills missing tags and rechecks them, but never touches a tag people pushed', async () => {
    await addRule({ prefix: '', upstream: 'http://upstream.test' });
    await pushImage(upstream, 'library/app', '1');
    const local = await pushImage(upstream, 'library/app', 'mine');
    // Pushed here under the same name as an upstream tag.
    const ours = await pushImage(registry, 'library/app', 'mine');
    expect(ours.digest).not.toBe(local.digest);
    const filled = await pull('library/app/manifests/1', 'pusher');
    expect(filled.status).toBe(200);
    time.advance(601_000);
    const pushedTag = await pull('library/app/manifests/mine', 'pusher');
    expect(pushedTag.headers.get('docker-content-digest')).toBe(ours.digest);
    expect(seen.filter((line) => line.includes('/manifests/mine'))).toEqual([]);
    await pull('library/app/manifests/1', 'pusher');
    expect(seen.filter((line) => line.includes('/manifests/1'))).toEqual(['GET /v2/library/app/manifests/1', 'HEAD /v2/library/app/manifests/1']);
  });

  it('answers 503 UNAVAILABLE, never a 5xx of its own, when the upstream is down and nothing is cached', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    upstreamDown = true;
    for (const path of ['mirror/team/app/manifests/1', `mirror/team/app/manifests/${image.digest}`, `mirror/team/app/blobs/${image.blobs[1]}`]) {
      const response = await pull(path, 'pusher');
      expect(response.status, path).toBe(503);
      expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAVAILABLE');
    }
  });

  it('garbage collection keeps what a cached manifest lists, filled before or after the pass', async () => {
    const image = await pushImage(upstream, 'team/app', '1');
    await pull('mirror/team/app/manifests/1', 'pusher');
    const early = await pull(`mirror/team/app/blobs/${image.blobs[0]}`, 'pusher');
    expect(sha256(new Uint8Array(await early.arrayBuffer()))).toBe(image.blobs[0]);
    time.advance(7 * 86_400_000);
    const gc = await registry.fetch(new Request('http://nimbus/v2/_nimbus/gc?minAge=0&full=1', { method: 'POST' }));
    expect(gc.status).toBe(200);
    expect(((await gc.json()) as { blobsDeleted: number }).blobsDeleted).toBe(0);
    const late = await pull(`mirror/team/app/blobs/${image.blobs[1]}`, 'pusher');
    expect(sha256(new Uint8Array(await late.arrayBuffer()))).toBe(image.blobs[1]);
    const again = await registry.fetch(new Request('http://nimbus/v2/_nimbus/gc?minAge=0&full=1', { method: 'POST' }));
    expect(((await again.json()) as { blobsDeleted: number }).blobsDeleted).toBe(0);
    const gets = seen.filter((line) => line.startsWith('GET') && line.includes('/blobs/')).length;
    for (const blob of image.blobs) expect((await pull(`mirror/team/app/blobs/${blob}`)).status).toBe(200);
    expect(seen.filter((line) => line.startsWith('GET') && line.includes('/blobs/'))).toHaveLength(gets);
  });
});
