import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsOutbox } from '../../functions/adapters/fs/outbox';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { FsWebhookStore } from '../../functions/adapters/fs/webhook-store';
import { EventRecorder } from '../../functions/core/events/recorder';
import { PullAggregator } from '../../functions/core/events/pulls';
import { allowAll, createRegistry, type Registry } from '../../functions/core/index';

const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** The registry in process, as alice, with webhooks on an fs outbox; `posted` is what the ping transport saw. */
async function setup(dir: string) {
  const blobs = new FsBlobStore(dir, { fsync: false });
  const metadata = new FsMetadataStore(dir, { fsync: false });
  await Promise.all([blobs.init(), metadata.init()]);
  const outbox = new FsOutbox(dir, { fsync: false });
  let skew = 0;
  const clock = { now: () => Date.now() + skew };
  const recorder = new EventRecorder({ outbox, webhooks: new FsWebhookStore(dir, { fsync: false }), clock, logger: { log() {} } });
  const pulls = new PullAggregator(recorder, clock);
  const posted: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const registry = createRegistry({
    blobs, metadata, inventory: metadata, policies: new FsPolicyStore(dir, { fsync: false }), clock,
    gc: new FsGcStore(dir, { metadata, locks: new KeyedMutex(), fsync: false }),
    config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 0 },
    authorizer: { ...allowAll, authorize: async () => ({ subject: 'alice' }) },
    events: {
      recorder, addressPolicy: 'private', timeoutMs: 1000, pulls,
      resolve: async (host) => (host === 'ci.internal' ? ['10.1.2.3'] : host === 'imds.internal' ? ['169.254.169.254'] : []),
      transport: { post: async (url, headers, body) => (posted.push({ url, headers, body }), 204) },
    },
  });
  return { registry, outbox, posted, pulls, advance: (ms: number) => (skew += ms) };
}

async function push(registry: Registry, repository: string, tag: string): Promise<{ digest: string; config: string }> {
  const config = new TextEncoder().encode(`{"tag":"${tag}"}`);
  await registry.fetch(new Request(`http://r/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config }));
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength }, layers: [] });
  const put = await registry.fetch(new Request(`http://r/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': OCI } }));
  expect(put.status).toBe(201);
  return { digest: sha256(manifest), config: sha256(config) };
}

describe('registry events', () => {
  let dir: string;
  let env: Awaited<ReturnType<typeof setup>>;
  const call = (method: string, path: string, body?: unknown) => env.registry.fetch(new Request(`http://r${path}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  }));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-events-'));
    env = await setup(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('records pushes and deletes of watched repositories, with actor and reason, and nothing for others', async () => {
    expect((await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/hook', repositories: 'team/**' })).status).toBe(201);
    const first = await push(env.registry, 'team/app', 'v1');
    await push(env.registry, 'other/app', 'v1');
    expect((await call('DELETE', '/v2/team/app/manifests/v1')).status).toBe(202);
    expect((await call('DELETE', `/v2/team/app/manifests/${first.digest}`)).status).toBe(202);
    expect((await call('DELETE', `/v2/team/app/blobs/${first.config}`)).status).toBe(202);
    // A delete that finds nothing changes nothing and records nothing.
    expect((await call('DELETE', '/v2/team/app/manifests/v1')).status).toBe(404);
    const events = (await env.outbox.recent(100)).reverse().map((entry) => entry.event); // recent() is newest first
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['io.nimbus.manifest.pushed', { repository: 'team/app', digest: first.digest, tag: 'v1', mediaType: OCI, size: expect.any(Number), actor: 'alice' }],
      ['io.nimbus.tag.deleted', { repository: 'team/app', digest: first.digest, tag: 'v1', actor: 'alice', reason: 'request' }],
      ['io.nimbus.manifest.deleted', { repository: 'team/app', digest: first.digest, actor: 'alice', reason: 'request' }],
      ['io.nimbus.blob.deleted', { repository: 'team/app', digest: first.config, actor: 'alice', reason: 'request' }],
    ]);
  });

  it('records retention deletions with reason "retention"', async () => {
    expect((await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/hook', events: ['delete'] })).status).toBe(201);
    const old = await push(env.registry, 'team/app', 'old');
    await push(env.registry, 'team/app', 'new');
    expect((await call('PUT', '/v2/_nimbus/retention', { rules: [{ repositories: 'team/app', keepLast: 1 }] })).status).toBe(200);
    expect((await call('POST', '/v2/_nimbus/retention/run')).status).toBe(200);
    const events = (await env.outbox.recent(100)).reverse().map((entry) => entry.event); // recent() is newest first
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['io.nimbus.tag.deleted', { repository: 'team/app', digest: old.digest, tag: 'old', reason: 'retention' }],
    ]);
  });

  it('records the referrers garbage collection deletes with their subject, with reason "gc"', async () => {
    expect((await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/hook', events: ['delete'] })).status).toBe(201);
    const subject = await push(env.registry, 'team/app', 'v1');
    const signature = JSON.stringify({
      schemaVersion: 2, mediaType: OCI, artifactType: 'application/vnd.example.sig',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: subject.config, size: new TextEncoder().encode('{"tag":"v1"}').byteLength },
      layers: [], subject: { mediaType: OCI, digest: subject.digest, size: 1 },
    });
    expect((await env.registry.fetch(new Request(`http://r/v2/team/app/manifests/${sha256(signature)}`, {
      method: 'PUT', body: signature, headers: { 'content-type': OCI },
    }))).status).toBe(201);
    expect((await call('DELETE', `/v2/team/app/manifests/${subject.digest}`)).status).toBe(202);
    env.advance(5000);
    expect((await call('POST', '/v2/_nimbus/gc?minAge=0')).status).toBe(200);
    const events = (await env.outbox.recent(100)).reverse().map((entry) => entry.event.data);
    expect(events).toEqual([
      { repository: 'team/app', digest: subject.digest, actor: 'alice', reason: 'request' },
      { repository: 'team/app', digest: sha256(signature), reason: 'gc' },
    ]);
  });

  it('records the blob bytes garbage collection deletes, with size and reason "gc", for webhooks watching every repository', async () => {
    const everything = await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/all', events: ['delete'] });
    const everythingId = ((await everything.json()) as { webhook: { id: string } }).webhook.id;
    expect((await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/team', events: ['delete'], repositories: 'team/**' })).status).toBe(201);
    const image = await push(env.registry, 'team/app', 'v1');
    const manifestBytes = (await (await call('GET', `/v2/team/app/manifests/${image.digest}`)).arrayBuffer()).byteLength;
    expect(manifestBytes).toBeGreaterThan(0);
    expect((await call('DELETE', `/v2/team/app/manifests/${image.digest}`)).status).toBe(202);
    env.advance(5000);
    // The first pass settles the deleted manifest's reviews; the config's bytes go once nothing uses them.
    const collected = async () => {
      expect((await call('POST', '/v2/_nimbus/gc?minAge=0')).status).toBe(200);
      return (await env.outbox.recent(100)).filter((entry) => entry.event.data.reason === 'gc');
    };
    await expect.poll(collected, { timeout: 10_000 }).toHaveLength(1);
    const [entry] = await collected();
    expect([entry!.event.type, entry!.event.subject, entry!.event.data]).toEqual([
      'io.nimbus.blob.deleted', '', { repository: '', digest: image.config, size: new TextEncoder().encode('{"tag":"v1"}').byteLength, reason: 'gc' },
    ]);
    // Only the webhook that watches every repository gets registry-wide events.
    expect(entry!.deliveries.map((delivery) => delivery.webhook)).toEqual([everythingId]);
    expect((await call('GET', `/v2/team/app/blobs/${image.config}`)).status).toBe(404);
    // A later pass finds nothing more to delete and records nothing more.
    expect(await collected()).toHaveLength(1);
  });

  it('aggregates pulls per window for webhooks that subscribe to them: one event per manifest and tag, with the count', async () => {
    expect((await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/pushes', events: ['push'] })).status).toBe(201);
    const { digest } = await push(env.registry, 'team/app', 'v1');
    for (let i = 0; i < 3; i++) expect((await call('GET', '/v2/team/app/manifests/v1')).status).toBe(200);
    expect((await call('HEAD', '/v2/team/app/manifests/v1')).status).toBe(200);
    // Nobody subscribes to pulls yet: the window ends without an event.
    expect(await env.pulls.flush()).toBe(0);
    const added = await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/pulls', events: ['pull'], repositories: 'team/*' });
    const pullHook = ((await added.json()) as { webhook: { id: string } }).webhook.id;
    for (let i = 0; i < 2; i++) await call('GET', '/v2/team/app/manifests/v1');
    await call('GET', `/v2/team/app/manifests/${digest}`);
    expect(await env.pulls.flush()).toBe(2);
    const pulled = (await env.outbox.recent(100)).filter((entry) => entry.event.type === 'io.nimbus.manifest.pulled');
    expect(pulled.map((entry) => [entry.event.data.tag, entry.event.data.count, entry.deliveries.map((d) => d.webhook)])).toEqual(
      expect.arrayContaining([['v1', 2, [pullHook]], [undefined, 1, [pullHook]]]),
    );
    expect(await env.pulls.flush()).toBe(0);
  });

  it('manages webhooks over the admin routes: validation, secrets never listed, ping signed, deliveries listed', async () => {
    const refusals = [
      [{ url: 'http://imds.internal/' }, /169\.254\.169\.254 is a metadata address/],
      [{ url: 'http://ci.internal/', events: ['pulls'] }, /unknown event group/],
      [{ url: 'http://ci.internal/', repositories: 'Team/../x' }, /not a repository pattern/],
      [{ url: 'http://ci.internal/', headers: { 'Nimbus-Signature': 'x' } }, /set by the registry/],
      [{ url: 'http://ci.internal/', secret: 'short' }, /at least 16/],
      [{ url: 'http://ci.internal/', extra: 1 }, /extra|Unrecognized/i],
    ] as const;
    for (const [body, message] of refusals) {
      const response = await call('POST', '/v2/_nimbus/webhooks', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(await response.json())).toMatch(message);
    }
    const added = await call('POST', '/v2/_nimbus/webhooks', { url: 'http://ci.internal/hook', headers: { Authorization: 'Bearer hidden-token' } });
    const { webhook, secret } = (await added.json()) as { webhook: { id: string }; secret: string };
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const listed = await (await call('GET', '/v2/_nimbus/webhooks')).text();
    expect(listed).toContain('Authorization');
    expect(listed).not.toContain('hidden-token');
    expect(listed).not.toContain(secret);
    const ping = await (await call('POST', `/v2/_nimbus/webhooks/${webhook.id}/ping`)).json();
    expect(ping).toMatchObject({ ok: true, status: 204 });
    expect(env.posted[0]!.headers).toMatchObject({ Authorization: 'Bearer hidden-token', 'Nimbus-Signature': expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/) });
    const { deliveries } = (await (await call('GET', `/v2/_nimbus/webhooks/deliveries?webhook=${webhook.id}`)).json()) as { deliveries: unknown[] };
    expect(deliveries).toEqual([expect.objectContaining({ type: 'io.nimbus.ping', state: 'delivered', attempts: 1, lastStatus: 204 })]);
    expect((await call('DELETE', `/v2/_nimbus/webhooks/${webhook.id}`)).status).toBe(204);
    expect((await call('DELETE', `/v2/_nimbus/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await call('DELETE', '/v2/_nimbus/webhooks/..%2F..%2Fsecrets')).status).toBe(404);
  });
});
