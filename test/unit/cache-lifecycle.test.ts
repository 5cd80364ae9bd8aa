import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsCacheMarks } from '../../functions/adapters/fs/cache-marks';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { createRegistry, wasmHashing, type Registry } from '../../functions/core/index';
import type { UpstreamHttp } from '../../functions/core/cache/ports';
import { cacheLifecycleRules, effectiveRetention } from '../../functions/core/cache/lifecycle';
import { memorySecrets, pusherOnlyAuthorizer as authorizer } from './cache-fixtures';
import { ManualTime } from './manual-time';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DAY = 86_400_000;
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A registry over `dir` (an upstream when `http` is undefined), as one process: a restart is another call. */
async function registryOn(dir: string, time: ManualTime, http?: UpstreamHttp): Promise<Registry> {
  const metadata = new FsMetadataStore(dir, { fsync: false, clock: time });
  const blobs = new FsBlobStore(dir, { fsync: false });
  await Promise.all([metadata.init(), blobs.init()]);
  return createRegistry({
    metadata, blobs, policies: new FsPolicyStore(dir, { fsync: false }), hashing: wasmHashing, clock: time, inventory: metadata,
    config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0 },
    ...(http ? { authorizer, cache: { http, secrets: memorySecrets(), marks: new FsCacheMarks(dir), tagRecheckSeconds: 600 } } : {}),
  });
}

const request = (registry: Registry, method: string, path: string, init: { body?: string | Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {}) => (
  registry.fetch(new Request(`http://nimbus/v2/${path}`, { method, ...init, headers: { accept: OCI_MANIFEST, 'x-user': 'pusher', ...init.headers } })));

async function pushImage(registry: Registry, repository: string, tag: string): Promise<{ status: number; body?: unknown }> {
  const blobs = [new Uint8Array(randomBytes(64)), new Uint8Array(randomBytes(1024))].map((bytes) => ({ bytes, digest: sha256(bytes) }));
  for (const blob of blobs) {
    const response = await request(registry, 'POST', `${repository}/blobs/uploads/?digest=${blob.digest}`, { body: blob.bytes });
    if (response.status !== 201) return { status: response.status, body: await response.json() };
  }
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0]!.digest, size: 64 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[1]!.digest, size: 1024 }],
  });
  const response = await request(registry, 'PUT', `${repository}/manifests/${tag}`, { body: manifest, headers: { 'content-type': OCI_MANIFEST } });
  return { status: response.status, ...(response.status === 201 ? {} : { body: await response.json() }) };
}

describe('cache lifecycle rules (pure)', () => {
  it('appends one rule per prefix cache rule after the operator\'s, longest prefix first, none for 0 or the root mirror', () => {
    const cache = { version: 1 as const, rules: [
      { prefix: 'hub', upstream: 'https://registry-1.docker.io' },
      { prefix: 'hub/team', upstream: 'https://x.test', expireUnpulledDays: 7 },
      { prefix: 'forever', upstream: 'https://y.test', expireUnpulledDays: 0 },
      { prefix: '', upstream: 'https://registry-1.docker.io' },
    ] };
    expect(cacheLifecycleRules(cache)).toEqual([
      { repositories: 'hub/team/**', notPulledForDays: 7, untaggedOlderThanDays: 7 },
      { repositories: 'hub/**', notPulledForDays: 30, untaggedOlderThanDays: 30 },
    ]);
    const operator = { rules: [{ repositories: 'hub/keep/**', keepLast: 100 }] };
    expect(effectiveRetention(operator, cache)!.rules.map((rule) => rule.repositories)).toEqual(['hub/keep/**', 'hub/team/**', 'hub/**']);
    expect(effectiveRetention(undefined, { version: 1, rules: [] })).toBeUndefined();
    expect(effectiveRetention(operator, undefined)).toBe(operator);
  });
});

describe('pull-through cache lifecycle, pushes and recheck times (in process, on disk)', () => {
  let dir: string;
  let time: ManualTime;
  let upstream: Registry;
  let registry: Registry;
  let seen: string[];
  let http: UpstreamHttp;

  const admin = (method: string, path: string, body?: unknown) => registry.fetch(new Request(`http://nimbus/v2/_nimbus/${path}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }));
  const retention = async () => (await (await admin('POST', 'retention/run')).json()) as { deleted: Array<{ repository: string; tag?: string; reason: string }> };
  const tagsOf = async (repository: string) => ((await (await request(registry, 'GET', `${repository}/tags/list`)).json()) as { tags?: string[] }).tags ?? [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-cache-lifecycle-'));
    time = new ManualTime(Date.UTC(2026, 5, 1));
    upstream = await registryOn(join(dir, 'up'), time);
    seen = [];
    http = {
      async fetch(url, init) {
        seen.push(`${init.method} ${new URL(url).pathname}`);
        return upstream.fetch(new Request(url, { method: init.method, headers: init.headers }));
      },
    };
    registry = await registryOn(join(dir, 'down'), time, http);
    expect((await admin('POST', 'cache', { prefix: 'mirror', upstream: 'http://upstream.test' })).status).toBe(200);
    expect((await admin('POST', 'cache', { prefix: 'kept', upstream: 'http://upstream.test', expireUnpulledDays: 0 })).status).toBe(200);
    expect((await pushImage(upstream, 'team/app', '1')).status).toBe(201);
    expect((await pushImage(upstream, 'team/app', '2')).status).toBe(201);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows each prefix rule\'s lifecycle (30 days by default) and refuses one on the root mirror', async () => {
    const rules = ((await (await admin('GET', 'cache')).json()) as { rules: Array<{ prefix: string; expireUnpulledDays?: number }> }).rules;
    expect(rules.map(({ prefix, expireUnpulledDays }) => ({ prefix, expireUnpulledDays }))).toEqual([
      { prefix: 'mirror', expireUnpulledDays: 30 }, { prefix: 'kept', expireUnpulledDays: 0 },
    ]);
    const root = await admin('POST', 'cache', { prefix: '', upstream: 'http://upstream.test', expireUnpulledDays: 30 });
    expect(root.status).toBe(400);
    expect(JSON.stringify(await root.json())).toContain('root mirror has no lifecycle');
    expect((await admin('POST', 'cache', { prefix: 'x', upstream: 'http://upstream.test', expireUnpulledDays: -1 })).status).toBe(400);
  });

  it('a retention run drops cached tags nobody pulled for 30 days, without any retention document; 0 keeps them', async () => {
    for (const path of ['mirror/team/app/manifests/1', 'mirror/team/app/manifests/2', 'kept/team/app/manifests/1']) {
      expect((await request(registry, 'GET', path)).status, path).toBe(200);
    }
    time.advance(20 * DAY);
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/2')).status).toBe(200);
    time.advance(11 * DAY);
    const report = await retention();
    expect(report.deleted.filter((entry) => entry.tag !== undefined)).toEqual([
      expect.objectContaining({ repository: 'mirror/team/app', tag: '1', reason: 'notPulled' }),
    ]);
    expect(await tagsOf('mirror/team/app')).toEqual(['2']);
    expect(await tagsOf('kept/team/app')).toEqual(['1']);
    // Gone from the cache, not from the world: the next pull fetches it again.
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
  });

  it('an operator\'s retention rule covering a cached repository governs it instead of the cache\'s lifecycle', async () => {
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    const put = await registry.fetch(new Request('http://nimbus/v2/_nimbus/retention', { method: 'PUT', body: JSON.stringify({ rules: [{ repositories: 'mirror/team/**', keepLast: 5 }] }) }));
    expect(put.status).toBe(200);
    time.advance(400 * DAY);
    expect((await retention()).deleted).toEqual([]);
    expect(await tagsOf('mirror/team/app')).toEqual(['1']);
  });

  it('refuses pushes into a prefix rule\'s repositories with DENIED saying why; fills still store, and other repositories take pushes', async () => {
    const refused = await pushImage(registry, 'mirror/team/app', 'mine');
    expect(refused.status).toBe(403);
    const error = (refused.body as { errors: Array<{ code: string; message: string }> }).errors[0]!;
    expect(error.code).toBe('DENIED');
    expect(error.message).toContain('mirrors http://upstream.test');
    expect(error.message).toContain('push to a repository outside mirror/');
    const manifest = await request(registry, 'PUT', 'mirror/team/app/manifests/mine', { body: '{}', headers: { 'content-type': OCI_MANIFEST } });
    expect(manifest.status).toBe(403);
    const direct = await request(registry, 'POST', 'mirror/team/app/_nimbus/direct-uploads', { body: JSON.stringify({ digest: sha256('x'), size: 1 }) });
    expect(direct.status).toBe(403);
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    expect((await pushImage(registry, 'team/own', '1')).status).toBe(201);
    // The root mirror's repositories are people's too: pushes there are taken.
    expect((await admin('POST', 'cache', { prefix: '', upstream: 'http://upstream.test' })).status).toBe(200);
    expect((await pushImage(registry, 'library/own', '1')).status).toBe(201);
  });

  it('a restart does not recheck a tag confirmed within the interval; past it, one HEAD', async () => {
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    time.advance(300_000);
    registry = await registryOn(join(dir, 'down'), time, http);
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    expect(seen.filter((line) => line.includes('/manifests/1'))).toEqual(['GET /v2/team/app/manifests/1']);
    time.advance(301_000);
    registry = await registryOn(join(dir, 'down'), time, http);
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    expect((await request(registry, 'GET', 'mirror/team/app/manifests/1')).status).toBe(200);
    expect(seen.filter((line) => line.includes('/manifests/1'))).toEqual(['GET /v2/team/app/manifests/1', 'HEAD /v2/team/app/manifests/1']);
    expect(await new FsCacheMarks(join(dir, 'down')).checkedAt('mirror/team/app:1')).toBe(time.now());
  });
});
