import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, wasmHashing, type Registry } from '../../functions/core/index';
import type { CacheSecrets, UpstreamCredentials, UpstreamHttp } from '../../functions/core/cache/ports';
import { authHarness, basic, bearer, sha256, tokenFor, type AuthHarness } from './harness';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function memorySecrets(): CacheSecrets {
  const map = new Map<string, UpstreamCredentials>();
  return { get: async (key) => map.get(key), put: async (key, value) => void map.set(key, value), delete: async (key) => void map.delete(key) };
}

/**
 * Pull-through cache fills with token auth on (NIMBUS_AUTH=on): a miss fills for callers with push
 * on the repository, even with a token that asked for pull only (as docker pull's does); pull-only
 * callers are served what is cached, unless the rule opens fills.
 */
describe('pull-through cache fills with token auth', () => {
  let h: AuthHarness;
  let upstream: Registry;
  let upstreamGets: string[];
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const upstreamDir = await mkdtemp(join(tmpdir(), 'nimbus-cache-upstream-'));
    const metadata = new FsMetadataStore(upstreamDir, { fsync: false });
    const blobs = new FsBlobStore(upstreamDir, { fsync: false });
    await Promise.all([metadata.init(), blobs.init()]);
    upstream = createRegistry({ blobs, metadata, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0 } });
    upstreamGets = [];
    const http: UpstreamHttp = {
      async fetch(url, request) {
        if (request.method === 'GET') upstreamGets.push(new URL(url).pathname);
        return upstream.fetch(new Request(url, { method: request.method, headers: request.headers }));
      },
    };
    h = await authHarness({ cache: { http, secrets: memorySecrets() } });
    // A pull records its time in the background: retry removing a directory it is still writing.
    cleanup = () => Promise.all([h.dataDir, upstreamDir].map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5 }))).then(() => undefined);
    await h.addUser('admin', 'admin-password', { '**': ['pull', 'push', 'delete'] });
    await h.addUser('pusher', 'pusher-password', { 'mirror/**': ['pull', 'push'] });
    await h.addUser('reader', 'reader-password', { 'mirror/**': ['pull'] });
    await addRule({ prefix: 'mirror', upstream: 'http://upstream.test' });
  });

  afterEach(() => cleanup());

  async function addRule(rule: Record<string, unknown>): Promise<void> {
    const response = await h.fetch('/v2/_nimbus/cache', { method: 'POST', body: JSON.stringify(rule), headers: { authorization: basic('admin', 'admin-password') } });
    expect(response.status).toBe(200);
  }

  async function upstreamImage(): Promise<{ digest: string; layer: string; config: string }> {
    const digests: string[] = [];
    for (const bytes of [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(2048))]) {
      digests.push(sha256(bytes));
      expect((await upstream.fetch(new Request(`http://up/v2/team/app/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes }))).status).toBe(201);
    }
    const body = JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[0], size: 32 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digests[1], size: 2048 }],
    });
    expect((await upstream.fetch(new Request('http://up/v2/team/app/manifests/1', { method: 'PUT', body, headers: { 'content-type': OCI_MANIFEST } }))).status).toBe(201);
    return { digest: sha256(new TextEncoder().encode(body)), config: digests[0]!, layer: digests[1]! };
  }

  /** A pull as docker makes it: a token for `pull` only on the repository. */
  async function pullToken(user: string): Promise<string> {
    return bearer(await tokenFor(h, ['repository:mirror/team/app:pull'], basic(user, `${user}-password`)));
  }

  const get = (path: string, authorization: string) => h.fetch(`/v2/mirror/team/app/${path}`, { headers: { authorization, accept: OCI_MANIFEST } });

  it('fills for a caller with push (with a pull-only token, as docker pull asks); a reader gets what is cached only', async () => {
    const image = await upstreamImage();
    const [reader, pusher] = [await pullToken('reader'), await pullToken('pusher')];
    expect((await get('manifests/1', reader)).status).toBe(404);
    expect(upstreamGets).toEqual([]);
    expect((await get('manifests/1', pusher)).status).toBe(200);
    expect((await get('manifests/1', reader)).status).toBe(200);
    expect((await get(`blobs/${image.layer}`, reader)).status).toBe(404);
    const filled = await get(`blobs/${image.layer}`, pusher);
    expect(filled.status).toBe(200);
    expect(sha256(new Uint8Array(await filled.arrayBuffer()))).toBe(image.layer);
    expect((await get(`blobs/${image.layer}`, reader)).status).toBe(200);
    expect(upstreamGets.filter((path) => path.includes('/blobs/'))).toEqual([`/v2/team/app/blobs/${image.layer}`]);
  });

  it('fills for pull-only callers once the rule opens fills (--open), never for callers without pull', async () => {
    const image = await upstreamImage();
    await addRule({ prefix: 'mirror', upstream: 'http://upstream.test', openFills: true });
    expect((await get('manifests/1', await pullToken('reader'))).status).toBe(200);
    expect((await get(`blobs/${image.config}`, basic('reader', 'reader-password'))).status).toBe(200);
    expect((await get(`blobs/${image.layer}`, '')).status).toBe(401);
    expect(upstreamGets.filter((path) => path.includes(image.layer))).toEqual([]);
  });
});
