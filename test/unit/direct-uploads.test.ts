import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { createRegistry, type Registry, type RegistryTask } from '../../functions/core/index';
import { expectError, rand, RegistryClient, sha256 } from '../api/client';
import { S3LikeStore } from './s3-like-store';

const MiB = 1024 * 1024;

interface Plan {
  id: string;
  state: string;
  partSize: number;
  partCount: number;
  parts: Array<{ number: number; url: string }>;
}

describe('direct uploads (client → storage, registry verifies)', () => {
  let dir: string;
  let store: S3LikeStore;
  let client: RegistryClient;
  let queued: RegistryTask[];
  let background: Registry;
  let queuedClient: RegistryClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-direct-'));
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await metadata.init();
    store = new S3LikeStore(5 * MiB, 16 * MiB);
    const config = { uploadSecret: new Uint8Array(32).fill(2), blobRedirectSeconds: 0 };
    client = new RegistryClient(createRegistry({ blobs: store, metadata, config }).fetch);
    queued = [];
    background = createRegistry({ blobs: store, metadata, config, tasks: { enqueue: async (task) => void queued.push(task) } });
    queuedClient = new RegistryClient(background.fetch);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function start(c: RegistryClient, repo: string, digest: string, size: number): Promise<Plan> {
    const response = await c.send('POST', `/v2/${repo}/_nimbus/direct-uploads`, { body: JSON.stringify({ digest, size }) });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as Plan;
  }

  function uploadParts(plan: Plan, bytes: Uint8Array) {
    return plan.parts.map((part) => ({
      number: part.number,
      etag: store.uploadDirectPart(part.url, bytes.subarray((part.number - 1) * plan.partSize, part.number * plan.partSize)),
    }));
  }

  it('plans parts, assembles what the client uploaded, verifies it, and serves it', async () => {
    const bytes = rand(40 * MiB + 123);
    const plan = await start(client, 'direct/app', sha256(bytes), bytes.byteLength);
    expect(plan).toMatchObject({ state: 'uploading', partSize: 16 * MiB, partCount: 3 });
    expect(plan.parts.map((p) => p.number)).toEqual([1, 2, 3]);
    const done = await client.send('PUT', `/v2/direct/app/_nimbus/direct-uploads/${plan.id}`, { body: JSON.stringify({ parts: uploadParts(plan, bytes) }) });
    expect(done.status, await done.clone().text()).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(sha256(bytes));
    const back = new Uint8Array(await (await client.send('GET', `/v2/direct/app/blobs/${sha256(bytes)}`)).arrayBuffer());
    expect(createHash('sha256').update(back).digest('hex')).toBe(sha256(bytes).slice(7));
    const again = await client.send('POST', '/v2/direct/app/_nimbus/direct-uploads', { body: JSON.stringify({ digest: sha256(bytes), size: bytes.byteLength }) });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ state: 'exists', digest: sha256(bytes) });
    // Readable in another repository: mounted, not uploaded again.
    const elsewhere = await client.send('POST', '/v2/direct/other/_nimbus/direct-uploads', { body: JSON.stringify({ digest: sha256(bytes), size: bytes.byteLength }) });
    expect(elsewhere.status).toBe(200);
    expect((await client.send('HEAD', `/v2/direct/other/blobs/${sha256(bytes)}`)).status).toBe(200);
  });

  it('rejects tampered bytes with DIGEST_INVALID, deletes them, and never serves them', async () => {
    const promised = rand(6 * MiB);
    const tampered = new Uint8Array(promised);
    tampered[1000] = tampered[1000]! ^ 0xff;
    const plan = await start(client, 'direct/tamper', sha256(promised), promised.byteLength);
    const blobsBefore = store.blobs.size;
    const done = await client.send('PUT', `/v2/direct/tamper/_nimbus/direct-uploads/${plan.id}`, { body: JSON.stringify({ parts: uploadParts(plan, tampered) }) });
    await expectError(done, 400, 'DIGEST_INVALID');
    expect(store.blobs.size).toBe(blobsBefore);
    await expectError(await client.send('GET', `/v2/direct/tamper/blobs/${sha256(promised)}`), 404, 'BLOB_UNKNOWN');
    await expectError(await client.send('GET', `/v2/direct/tamper/blobs/${sha256(tampered)}`), 404, 'BLOB_UNKNOWN');
    await expectError(await client.send('GET', `/v2/direct/tamper/_nimbus/direct-uploads/${plan.id}`), 400, 'DIGEST_INVALID');
  });

  it('verifies in the background when a task queue is configured, invisible until then', async () => {
    const bytes = rand(3 * MiB);
    const plan = await start(queuedClient, 'direct/queued', sha256(bytes), bytes.byteLength);
    const done = await queuedClient.send('PUT', `/v2/direct/queued/_nimbus/direct-uploads/${plan.id}`, { body: JSON.stringify({ parts: uploadParts(plan, bytes) }) });
    expect(done.status).toBe(202);
    expect((await done.json()).state).toBe('verifying');
    expect(queued).toEqual([{ type: 'verify-direct-upload', upload: plan.id }]);
    await expectError(await queuedClient.send('HEAD', `/v2/direct/queued/blobs/${sha256(bytes)}`), 404, 'BLOB_UNKNOWN');
    await background.runTask(queued.pop()!);
    const status = await queuedClient.send('GET', `/v2/direct/queued/_nimbus/direct-uploads/${plan.id}`);
    expect(status.status).toBe(201);
    expect((await queuedClient.send('HEAD', `/v2/direct/queued/blobs/${sha256(bytes)}`)).status).toBe(200);
  });

  it('refuses an incomplete part list, bad requests, and unknown uploads with spec errors', async () => {
    const bytes = rand(20 * MiB);
    const plan = await start(client, 'direct/bad', sha256(bytes), bytes.byteLength);
    const parts = uploadParts(plan, bytes);
    await expectError(await client.send('PUT', `/v2/direct/bad/_nimbus/direct-uploads/${plan.id}`, { body: JSON.stringify({ parts: parts.slice(0, 1) }) }), 400, 'BLOB_UPLOAD_INVALID');
    await expectError(await client.send('PUT', `/v2/direct/bad/_nimbus/direct-uploads/${plan.id}`, { body: '{' }), 400, 'BLOB_UPLOAD_INVALID');
    await expectError(await client.send('POST', '/v2/direct/bad/_nimbus/direct-uploads', { body: JSON.stringify({ digest: 'md5:x', size: 1 }) }), 400, 'DIGEST_INVALID');
    await expectError(await client.send('POST', '/v2/direct/bad/_nimbus/direct-uploads', { body: JSON.stringify({ digest: sha256(bytes), size: -1 }) }), 400, 'BLOB_UPLOAD_INVALID');
    await expectError(await client.send('GET', '/v2/direct/bad/_nimbus/direct-uploads/nope'), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await client.send('GET', `/v2/direct/other/_nimbus/direct-uploads/${plan.id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    const more = await client.send('GET', `/v2/direct/bad/_nimbus/direct-uploads/${plan.id}/parts?first=2&count=5`);
    expect((await more.json()).parts.map((p: { number: number }) => p.number)).toEqual([2]);
    expect((await client.send('DELETE', `/v2/direct/bad/_nimbus/direct-uploads/${plan.id}`)).status).toBe(204);
    await expectError(await client.send('GET', `/v2/direct/bad/_nimbus/direct-uploads/${plan.id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('is not offered by stores that cannot take parts from clients', async () => {
    const fsDir = await mkdtemp(join(tmpdir(), 'nimbus-direct-fs-'));
    try {
      const blobs = new FsBlobStore(fsDir, { fsync: false });
      const metadata = new FsMetadataStore(fsDir, { fsync: false });
      await Promise.all([blobs.init(), metadata.init()]);
      const fsClient = new RegistryClient(createRegistry({ blobs, metadata, config: { uploadSecret: new Uint8Array(32).fill(2) } }).fetch);
      const response = await fsClient.send('POST', '/v2/x/y/_nimbus/direct-uploads', { body: JSON.stringify({ digest: sha256('a'), size: 1 }) });
      await expectError(response, 405, 'UNSUPPORTED');
    } finally {
      await rm(fsDir, { recursive: true, force: true });
    }
  });
});
