import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { createRegistry, wasmHashing, type CacheDeps, type Registry } from '../../functions/core/index';
import type { CacheSecrets, FillLeases, UpstreamCredentials, UpstreamHttp } from '../../functions/core/cache/ports';
import { ManualTime } from './manual-time';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function memorySecrets(): CacheSecrets {
  const map = new Map<string, UpstreamCredentials>();
  return { get: async (key) => map.get(key), put: async (key, value) => void map.set(key, value), delete: async (key) => void map.delete(key) };
}

/** Leases shared by every "instance", as the table's lease items are; `taken` counts grants. */
function memoryLeases(): FillLeases & { taken: number } {
  const until = new Map<string, number>();
  return {
    taken: 0,
    async acquire(key, ttlMs) {
      if ((until.get(key) ?? 0) > Date.now()) return false;
      until.set(key, Date.now() + ttlMs);
      this.taken++;
      return true;
    },
    async release(key) {
      until.delete(key);
    },
  };
}

/**
 * The pull-through cache as on Lambda (functions/lambda/cache.ts): several instances, each with its
 * own in-process single flight, over one set of stores, answering fills only once stored
 * (`store-first`) and coordinating through shared fill leases.
 */
describe('pull-through cache across instances (store-first fills, shared leases)', () => {
  let dir: string;
  let upstream: Registry;
  let gets: string[];
  /** While set, upstream blob GETs wait for it: fills stay in flight until the test lets them end. */
  let gate: Promise<void> | undefined;
  let failNextBlobGet: boolean;
  let http: UpstreamHttp;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-cache-instances-'));
    const up = new FsMetadataStore(join(dir, 'up'), { fsync: false });
    const upBlobs = new FsBlobStore(join(dir, 'up'), { fsync: false });
    await Promise.all([up.init(), upBlobs.init()]);
    upstream = createRegistry({ blobs: upBlobs, metadata: up, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(1), blobRedirectSeconds: 0 } });
    gets = [];
    gate = undefined;
    failNextBlobGet = false;
    http = {
      async fetch(url, request) {
        const isBlobGet = request.method === 'GET' && url.includes('/blobs/');
        if (isBlobGet) {
          gets.push(new URL(url).pathname);
          await gate;
          if (failNextBlobGet) {
            failNextBlobGet = false;
            return new Response('busy', { status: 500 });
          }
        }
        return upstream.fetch(new Request(url, { method: request.method, headers: request.headers }));
      },
    };
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function instances(count: number, cache: Partial<CacheDeps>, clock?: ManualTime): Promise<Registry[]> {
    const metadata = new FsMetadataStore(join(dir, 'down'), { fsync: false });
    const blobs = new FsBlobStore(join(dir, 'down'), { fsync: false });
    await Promise.all([metadata.init(), blobs.init()]);
    const policies = new FsPolicyStore(join(dir, 'down'), { fsync: false });
    const secrets = memorySecrets();
    const made = Array.from({ length: count }, () => createRegistry({
      blobs, metadata, policies, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(2), blobRedirectSeconds: 0 }, ...(clock ? { clock } : {}),
      cache: { http, secrets, blobFills: 'store-first', fillLeaseSeconds: 30, fillWaitSeconds: 20, ...cache },
    }));
    const added = await made[0]!.fetch(new Request('http://nimbus/v2/_nimbus/cache', { method: 'POST', body: JSON.stringify({ prefix: 'mirror', upstream: 'http://upstream.test' }) }));
    expect(added.status).toBe(200);
    return made;
  }

  async function upstreamBlob(size: number): Promise<string> {
    const bytes = new Uint8Array(randomBytes(size));
    const response = await upstream.fetch(new Request(`http://up/v2/team/app/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes }));
    expect(response.status).toBe(201);
    return sha256(bytes);
  }

  const get = (registry: Registry, digest: string) => registry.fetch(new Request(`http://nimbus/v2/mirror/team/app/blobs/${digest}`));

  it('fills a blob once across instances: the others wait for the stored copy (rounds)', async () => {
    const leases = memoryLeases();
    const registries = await instances(3, { fillLeases: leases });
    for (let round = 0; round < 3; round++) {
      const digest = await upstreamBlob(64 * 1024);
      let open!: () => void;
      gate = new Promise((resolve) => { open = resolve; });
      const answers = Array.from({ length: 9 }, (_, i) => get(registries[i % 3]!, digest));
      await expect.poll(() => gets.filter((path) => path.endsWith(digest)).length).toBe(1);
      open();
      for (const response of await Promise.all(answers)) {
        expect(response.status).toBe(200);
        expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(digest);
      }
      expect(gets.filter((path) => path.endsWith(digest))).toHaveLength(1);
    }
  });

  it('without shared leases, each instance fills on its own (what the leases prevent)', async () => {
    const registries = await instances(2, {});
    const digest = await upstreamBlob(1024);
    let open!: () => void;
    gate = new Promise((resolve) => { open = resolve; });
    const answers = registries.map((registry) => get(registry, digest));
    await expect.poll(() => gets.filter((path) => path.endsWith(digest)).length).toBe(2);
    open();
    for (const response of await Promise.all(answers)) expect(response.status).toBe(200);
  });

  it('a waiter takes the fill over when the holder fails, and the holder\'s client gets a retryable 503', async () => {
    const registries = await instances(2, { fillLeases: memoryLeases() });
    const digest = await upstreamBlob(2048);
    let open!: () => void;
    gate = new Promise((resolve) => { open = resolve; });
    failNextBlobGet = true;
    const holder = get(registries[0]!, digest);
    await expect.poll(() => gets.length).toBe(1);
    const waiter = get(registries[1]!, digest);
    open();
    expect((await holder).status).toBe(503);
    const taken = await waiter;
    expect(taken.status).toBe(200);
    expect(sha256(new Uint8Array(await taken.arrayBuffer()))).toBe(digest);
    expect(gets.filter((path) => path.endsWith(digest))).toHaveLength(2);
  });

  it('sends a blob miss to the fill host with a link bound to the repository, the blob and 5 minutes', async () => {
    const time = new ManualTime();
    // Two processes on one data dir: the registry, which redirects fills, and the fill host.
    const [registryWithOrigin] = await instances(1, { fillOrigin: 'https://fill.example' }, time);
    const [fillHost] = await instances(1, {}, time);
    const digest = await upstreamBlob(4096);
    const redirect = await get(registryWithOrigin!, digest);
    expect(redirect.status).toBe(307);
    const link = new URL(redirect.headers.get('location')!);
    expect(`${link.origin}${link.pathname}`).toBe(`https://fill.example/v2/mirror/team/app/_nimbus/fill/${digest}`);
    expect(gets).toEqual([]);
    const onHost = (url: string) => fillHost!.fetch(new Request(url.replace('https://fill.example', 'http://nimbus')));
    // Bound to the repository and the blob.
    expect((await onHost(link.href.replace('/mirror/team/app/', '/mirror/team/other/'))).status).toBe(403);
    const other = await upstreamBlob(100);
    expect((await onHost(link.href.replace(`/fill/${digest}`, `/fill/${other}`))).status).toBe(403);
    const filled = await onHost(link.href);
    expect(filled.status).toBe(200);
    expect(sha256(new Uint8Array(await filled.arrayBuffer()))).toBe(digest);
    expect(gets).toEqual([`/v2/team/app/blobs/${digest}`]);
    // Expired after 5 minutes.
    time.advance(301_000);
    expect((await onHost(link.href)).status).toBe(403);
  });

  it('refuses a blob over maxBlobFillBytes with a 503 saying what to do, storing nothing', async () => {
    const [registry] = await instances(1, { maxBlobFillBytes: 1000 });
    const digest = await upstreamBlob(1001);
    const response = await get(registry!, digest);
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/at most 1000 bytes.*NIMBUS_CACHE_MAX_FILL_BYTES.*skopeo copy/);
    expect(await registry!.services.metadata.getBlob(digest)).toBeUndefined();
    const small = await upstreamBlob(1000);
    expect((await get(registry!, small)).status).toBe(200);
  });
});
