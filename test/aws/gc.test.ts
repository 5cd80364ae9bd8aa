import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoGcStore } from '../../functions/adapters/aws/index';
import { ReferenceRecords } from '../../functions/adapters/aws/reference-records';
import { runGc } from '../../functions/core/gc/runner';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { RegistryClient, bodyText, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, rand, sha256, uniqueRepo, withQuery } from '../api/client';
import { awsRegistry, sha256OfStream, type AwsRegistryFixture } from './fixture';

let emulators: AwsEmulators;
let fixture: AwsRegistryFixture;
let client: RegistryClient;
let gc: DynamoGcStore;
const HOUR = 3_600_000;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  fixture = await awsRegistry(emulators);
  client = new RegistryClient(fixture.registry.fetch);
  gc = store();
});
afterAll(async () => emulators?.stop());

/** A GC store whose clock runs `ahead` ms in front: what S3 dates and sessions expire by. */
function store(ahead = 0): DynamoGcStore {
  return new DynamoGcStore(fixture.stores.clients.dynamodb, fixture.stores.clients.s3, { table: fixture.table, bucket: fixture.bucket, now: () => Date.now() + ahead });
}

async function reviewsOf(digest: string): Promise<Array<{ kind: string; repository?: string }>> {
  const found: Array<{ kind: string; repository?: string }> = [];
  let after: string | undefined;
  do {
    const page = await gc.dueReviews(Date.now() + HOUR, 200, after);
    found.push(...page.items.filter((review) => review.digest === digest).map((r) => ({ kind: r.kind, ...(r.repository ? { repository: r.repository } : {}) })));
    after = page.next;
  } while (after);
  return found;
}

async function objectExists(location: string): Promise<boolean> {
  try {
    await fixture.stores.clients.s3.send(new HeadObjectCommand({ Bucket: fixture.bucket, Key: location }));
    return true;
  } catch {
    return false;
  }
}

/** A link, a record and readable bytes come together, or not at all (the invariant every race keeps). */
async function expectConsistent(repository: string, digest: string, bytes: Uint8Array): Promise<'stored' | 'gone'> {
  const { metadata } = fixture.stores;
  const record = await metadata.getBlob(digest);
  const linked = await metadata.isBlobLinked(repository, digest);
  if (linked) expect(record, `${digest} is linked in ${repository} without a record`).toBeDefined();
  if (!record) return 'gone';
  const object = await fixture.stores.clients.s3.send(new GetObjectCommand({ Bucket: fixture.bucket, Key: record.location }));
  const read = await sha256OfStream(object.Body!.transformToWebStream() as ReadableStream<Uint8Array>);
  expect(read).toEqual({ digest, size: bytes.byteLength });
  return 'stored';
}

async function pushImage(repository: string, layers: Uint8Array<ArrayBuffer>[], tag?: string) {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  await client.pushBlob(repository, config);
  for (const layer of layers) await client.pushBlob(repository, layer);
  const body = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.byteLength },
    layers: layers.map((layer) => ({ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.byteLength })),
  });
  const put = await client.putManifest(repository, tag ?? sha256(body), body, OCI_MANIFEST);
  expect(put.status, await bodyText(put)).toBe(201);
  return { digest: sha256(body), config: sha256(config) };
}

describe('review queue on DynamoDB', () => {
  it('queues a review when a blob record is created, a link is removed and a manifest is deleted', async () => {
    const repository = uniqueRepo('gc');
    const loose = rand(300);
    await client.pushBlob(repository, loose);
    expect(await reviewsOf(sha256(loose))).toEqual([{ kind: 'blob' }]);
    await client.pushBlob(repository, loose); // stored already: no new record, no new review
    expect(await reviewsOf(sha256(loose))).toHaveLength(1);
    expect((await client.send('DELETE', `/v2/${repository}/blobs/${sha256(loose)}`)).status).toBe(202);
    expect(await reviewsOf(sha256(loose))).toEqual([{ kind: 'blob' }, { kind: 'blob' }]);

    const layer = rand(400);
    const image = await pushImage(repository, [layer]);
    expect(await reviewsOf(sha256(layer))).toHaveLength(1);
    expect((await client.send('DELETE', `/v2/${repository}/manifests/${image.digest}`)).status).toBe(202);
    expect(await reviewsOf(sha256(layer))).toHaveLength(2);
    expect(await reviewsOf(image.config)).toHaveLength(2);
    expect(await reviewsOf(image.digest)).toEqual([{ kind: 'referrers', repository }]);
  });

  it('spreads the queue over shards and pages through it oldest first', async () => {
    const seen: number[] = [];
    let after: string | undefined;
    do {
      const page = await gc.dueReviews(Date.now() + HOUR, 3, after);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((review) => review.at));
      after = page.next;
    } while (after);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect((await gc.dueReviews(0, 10)).items).toEqual([]);
  });
});

describe('collection on DynamoDB and S3', () => {
  it('collects unreferenced blobs after the safety window, keeps shared and recent ones, and survivors pull back', async () => {
    const repository = uniqueRepo('gc');
    const shared = rand(2000);
    const [onlyGone, onlyKept] = [rand(2100), rand(2200)];
    const gone = await pushImage(repository, [shared, onlyGone]);
    const kept = await pushImage(repository, [shared, onlyKept], 'kept');
    expect((await client.send('DELETE', `/v2/${repository}/manifests/${gone.digest}`)).status).toBe(202);
    const goneRecord = (await fixture.stores.metadata.getBlob(sha256(onlyGone)))!;

    const waiting = await runGc({ gc, metadata: fixture.stores.metadata, clock: { now: () => Date.now() } }, {});
    expect(waiting.blobsDeleted).toBe(0); // all within the 24 h window
    const dry = await runGc({ gc, metadata: fixture.stores.metadata, clock: { now: () => Date.now() } }, { minAgeMs: 0, dryRun: true });
    const report = await runGc({ gc, metadata: fixture.stores.metadata, clock: { now: () => Date.now() } }, { minAgeMs: 0 });
    expect(report.deleted.map((blob) => blob.digest).sort()).toEqual(dry.deleted.map((blob) => blob.digest).sort());
    expect(report.deleted.map((blob) => blob.digest)).toEqual(expect.arrayContaining([sha256(onlyGone), gone.config]));
    expect(report.deleted.map((blob) => blob.digest)).not.toContain(sha256(shared));
    expect(await objectExists(goneRecord.location)).toBe(false);
    expect(await fixture.stores.metadata.getBlob(sha256(onlyGone))).toBeUndefined();
    expect(await fixture.stores.metadata.isBlobLinked(repository, sha256(onlyGone))).toBe(false);
    for (const layer of [shared, onlyKept]) {
      expect((await client.send('HEAD', `/v2/${repository}/blobs/${sha256(layer)}`)).status).toBe(200);
      expect(await expectConsistent(repository, sha256(layer), layer)).toBe('stored');
    }
    expect((await client.send('GET', `/v2/${repository}/manifests/kept`)).status).toBe(200);
    expect(kept.digest).toBeTruthy();
    // Settled (a duplicate review within one pass by the next): nothing of the deleted image stays queued.
    await runGc({ gc, metadata: fixture.stores.metadata, clock: { now: () => Date.now() } }, { minAgeMs: 0 });
    expect(await reviewsOf(sha256(onlyGone))).toEqual([]);
  });

  it('never leaves a link, manifest or record pointing at deleted bytes while pushes race it (60 rounds)', async () => {
    const racers = ['link', 'mount', 'manifest', 'upload'] as const;
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < 60; round++) {
      const racer = racers[round % racers.length]!;
      const repository = uniqueRepo('gc-race');
      const bytes = rand(500 + round);
      const digest = sha256(bytes);
      await client.pushBlob(repository, bytes);
      const other = uniqueRepo('gc-race');
      const race = async (): Promise<boolean> => {
        if (racer === 'link') return fixture.stores.metadata.linkBlob(other, digest).then(() => true, () => false);
        if (racer === 'mount') {
          return (await client.send('POST', `/v2/${other}/blobs/uploads/?mount=${digest}&from=${repository}`)).status === 201;
        }
        if (racer === 'upload') return (await client.pushBlob(other, bytes), true);
        const config = new TextEncoder().encode('{}');
        await client.pushBlob(repository, config);
        const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256(config), size: 2 }, layers: [{ mediaType: OCI_LAYER, digest, size: bytes.byteLength }] });
        return (await client.putManifest(repository, 'racing', body, OCI_MANIFEST)).status === 201;
      };
      // The cutoff lies ahead, so only the collection protocol (never the safety window) keeps a racing push safe.
      const [verdict, raced] = await Promise.all([store(HOUR).collectBlob(digest, Date.now() + HOUR), race()]);
      const key = `${racer}:${verdict.state}:${raced}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (racer === 'upload') expect(raced, 'a racing upload keeps or re-stores the blob').toBe(true);
      const target = racer === 'manifest' ? repository : other;
      const state = await expectConsistent(target, digest, bytes);
      // A link alone does not keep a blob past the cutoff (it lies ahead here); a manifest does.
      if (racer === 'manifest' && raced) expect(state, 'a stored manifest keeps its blob').toBe('stored');
    }
    expect(Object.keys(outcomes).length).toBeGreaterThan(1);
  });

  it('lets a direct upload whose verification races collection keep or re-store the blob (20 rounds)', async () => {
    const send = (method: string, path: string, body?: unknown) => fixture.registry.fetch(new Request(`http://registry.test${path}`, {
      method, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }));
    /** Starts a direct upload and sends its one part; returns how to complete it (verification runs within, no task queue). */
    const directStart = async (repository: string, bytes: Uint8Array<ArrayBuffer>) => {
      const started = await send('POST', `/v2/${repository}/_nimbus/direct-uploads`, { digest: sha256(bytes), size: bytes.byteLength });
      expect(started.status, await started.clone().text()).toBe(201);
      const plan = (await started.json()) as { id: string; parts: Array<{ number: number; url: string }> };
      const part = await fetch(plan.parts[0]!.url, { method: 'PUT', body: bytes });
      expect(part.status).toBe(200);
      const etag = part.headers.get('etag')!;
      return async () => (await send('PUT', `/v2/${repository}/_nimbus/direct-uploads/${plan.id}`, { parts: [{ number: 1, etag }] })).status;
    };
    for (let round = 0; round < 20; round++) {
      const bytes = rand(900 + round);
      const other = uniqueRepo('gc-direct');
      const complete = await directStart(other, bytes);
      // Stored meanwhile by an ordinary push: the verifier finds that copy, which the collector is taking.
      const stored = uniqueRepo('gc-direct');
      await client.pushBlob(stored, bytes);
      const [, status] = await Promise.all([store(HOUR).collectBlob(sha256(bytes), Date.now() + HOUR), complete()]);
      expect(status, 'a verified direct upload keeps or re-stores the blob').toBe(201);
      await expectConsistent(other, sha256(bytes), bytes);
      await expectConsistent(stored, sha256(bytes), bytes);
    }
  });

  it('releases references a crashed request left behind once no request can still own them, then collects', async () => {
    const repository = uniqueRepo('gc-leak');
    const [leaked, used] = [rand(600), rand(601)];
    await client.pushBlob(repository, leaked);
    const image = await pushImage(repository, [used], 'kept');
    // A Lambda that died after counting a large manifest's references, before writing the manifest.
    const records = new ReferenceRecords(fixture.stores.clients.dynamodb, fixture.table);
    expect(await records.record(repository, image.digest, 'crashed0001', [{ kind: 'blob', digest: sha256(leaked) }, { kind: 'blob', digest: sha256(used) }])).toBeUndefined();
    expect(await gc.collectBlob(sha256(leaked), Date.now() + HOUR)).toEqual({ state: 'referenced' }); // it may still be in flight
    expect(await store(HOUR).collectBlob(sha256(leaked), Date.now() + HOUR)).toEqual({ state: 'recent' }); // released now
    expect(await store(HOUR).collectBlob(sha256(used), Date.now() + HOUR)).toEqual({ state: 'referenced' }); // the stored generation holds it
    expect(await store(3 * HOUR).collectBlob(sha256(leaked), Date.now() + 2 * HOUR)).toEqual({ state: 'garbage', size: 600 });
    expect(await expectConsistent(repository, sha256(used), used)).toBe('stored');
    await expect(fixture.stores.metadata.unlinkBlob(repository, sha256(used))).rejects.toMatchObject({ holder: image.digest });
  });

  it('collects the same blob from two collectors at once exactly once', async () => {
    const repository = uniqueRepo('gc');
    for (let round = 0; round < 10; round++) {
      const bytes = rand(700 + round);
      await client.pushBlob(repository, bytes);
      const verdicts = await Promise.all([store(HOUR).collectBlob(sha256(bytes), Date.now() + HOUR), store(HOUR).collectBlob(sha256(bytes), Date.now() + HOUR)]);
      expect(verdicts.filter((verdict) => verdict.state === 'garbage')).toHaveLength(1);
      expect(await expectConsistent(repository, sha256(bytes), bytes)).toBe('gone');
    }
  });
});

describe('sweeps on DynamoDB and S3', () => {
  it('sweeps expired sessions with their multipart uploads and staged tails, and keeps live ones', async () => {
    const repository = uniqueRepo('gc');
    const abandoned = await client.startUpload(repository);
    const patched = await client.send('PATCH', abandoned, { body: rand(1000) });
    expect(patched.status).toBe(202);
    const live = await client.startUpload(repository);
    const metadata = fixture.stores.metadata;
    // The abandoned session's id is in the key of the tail its PATCH staged.
    const staged = (await fixture.stores.clients.s3.send(new ListObjectsV2Command({ Bucket: fixture.bucket, Prefix: 'staging/' }))).Contents ?? [];
    const ids = [...new Set(staged.map((object) => object.Key!.split('/')[1]!))];
    const owners = await Promise.all(ids.map(async (id) => (await metadata.getUpload(id))?.repository));
    const abandonedId = ids.find((_, index) => owners[index] === repository)!;
    expect(abandonedId).toBeDefined();
    const session = (await metadata.getUpload(abandonedId))!;
    await metadata.updateUpload({ ...session, expiresAt: Math.floor(Date.now() / 1000) - 10, updatedAt: Date.now() - 2 * HOUR, version: session.version + 1 }, session.version);

    const dry = await gc.sweepUploads(Date.now(), true, false);
    expect(dry.uploads).toBe(1);
    expect(await metadata.getUpload(abandonedId)).toBeDefined();
    const swept = await gc.sweepUploads(Date.now(), false, false);
    expect(swept).toEqual(dry);
    expect(await metadata.getUpload(abandonedId)).toBeUndefined();
    const left = (await fixture.stores.clients.s3.send(new ListObjectsV2Command({ Bucket: fixture.bucket, Prefix: `staging/${abandonedId}/` }))).Contents ?? [];
    expect(left).toEqual([]);
    // The live upload still completes.
    const bytes = rand(100);
    const put = await client.send('PUT', withQuery(live, { digest: sha256(bytes) }), { body: bytes });
    expect(put.status, await bodyText(put)).toBe(201);
  });

  it('sweeps orphaned blob objects on full passes, never a stored blob or a live upload', async () => {
    const repository = uniqueRepo('gc');
    const kept = rand(800);
    await client.pushBlob(repository, kept);
    const orphan = `blobs/orphan-${randomBytes(6).toString('hex')}`;
    await fixture.stores.clients.s3.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: orphan, Body: rand(321) }));
    const inFlight = await client.startUpload(repository);
    const dry = await gc.sweepOrphans(Date.now() + HOUR, true);
    expect(dry.objects).toBeGreaterThanOrEqual(1);
    expect(await objectExists(orphan)).toBe(true);
    const swept = await gc.sweepOrphans(Date.now() + HOUR, false);
    expect(swept.objects).toBe(dry.objects);
    expect(await objectExists(orphan)).toBe(false);
    expect(await objectExists((await fixture.stores.metadata.getBlob(sha256(kept)))!.location)).toBe(true);
    const bytes = rand(100);
    expect((await client.send('PUT', withQuery(inFlight, { digest: sha256(bytes) }), { body: bytes })).status).toBe(201);
  });

  it('sweeps staged tails with no session once older than a request runs, and never a live session\'s', async () => {
    // (Session-less multipart uploads are found with ListMultipartUploads, which the S3 emulator answers empty.)
    const stray = `staging/stray-${randomBytes(6).toString('hex')}/tail`;
    await fixture.stores.clients.s3.send(new PutObjectCommand({ Bucket: fixture.bucket, Key: stray, Body: rand(77) }));
    const repository = uniqueRepo('gc');
    const live = await client.startUpload(repository);
    expect((await client.send('PATCH', live, { body: rand(500) })).status).toBe(202);
    expect((await gc.sweepUploads(Date.now() + HOUR, false, true)).uploads).toBe(0); // younger than a request may run
    expect(await objectExists(stray)).toBe(true);
    const dry = await store(HOUR).sweepUploads(Date.now() + HOUR, true, true);
    expect(dry).toEqual({ uploads: 1, bytes: 77 });
    expect(await store(HOUR).sweepUploads(Date.now() + HOUR, false, true)).toEqual(dry);
    expect(await objectExists(stray)).toBe(false);
    const staged = (await fixture.stores.clients.s3.send(new ListObjectsV2Command({ Bucket: fixture.bucket, Prefix: 'staging/' }))).Contents ?? [];
    expect(staged.length).toBeGreaterThan(0); // the live upload's tail stays
  });
});
