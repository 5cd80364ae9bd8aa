import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { createRegistry } from '../../functions/core/index';
import { bodyText, RegistryClient, sha256, withQuery } from '../api/client';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { ManualTime } from '../unit/manual-time';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const LEASE_S = 15;
const PATIENCE = { timeout: 30_000, interval: 20 };

/**
 * A takeover on S3 and DynamoDB: the upload endpoint process holding an upload dies (its
 * clock and heartbeats stop) with one part recorded; another process takes the upload over
 * once the lease lapses, on a part number past the one the dead holder may still have been
 * writing (partFloor, kept in the session item), and completes it. S3 assembles parts whose
 * numbers have a gap, and the blob is right.
 */
describe('upload takeover on S3 + DynamoDB', () => {
  let emulators: AwsEmulators;
  let stores: AwsStores;

  beforeAll(async () => {
    emulators = await startAwsEmulators();
    const { table, bucket } = await emulators.createResources();
    stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket, partSize: PART });
  }, 120_000);
  afterAll(async () => emulators?.stop());

  function processOn(time: ManualTime): RegistryClient {
    const registry = createRegistry({
      blobs: stores.blobs, metadata: stores.metadata, clock: time, timers: time,
      config: { uploadSecret: new Uint8Array(32).fill(6), uploadLeaseSeconds: LEASE_S, blobRedirectSeconds: 0 },
    });
    return new RegistryClient(registry.fetch);
  }

  it('resumes a dead holder\'s upload past its part numbers and completes it with the right digest', async () => {
    const [timeA, timeB] = [new ManualTime(Date.now()), new ManualTime(Date.now())];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = new Uint8Array(randomBytes(12 * MiB));
    const location = await a.startUpload('takeover/app');
    const id = new URL(location, 'http://x').pathname.split('/').at(-1)!;

    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
    const dying = a.send('PATCH', location, { body });
    controller.enqueue(blob.subarray(0, PART + MiB)); // one part, and the start of the next
    await vi.waitFor(async () => expect((await stores.metadata.getUpload(id))!.offset).toBe(PART), PATIENCE);
    // A dies here: its clock and heartbeats stop, its body never ends.

    const until = (await stores.metadata.getUpload(id))!.lease!.until;
    timeB.advance(until - timeB.now());
    const resumed = await b.send('PATCH', location, { body: blob.subarray(PART), headers: { 'Content-Range': `${PART}-${blob.byteLength - 1}` } });
    expect(resumed.status, await bodyText(resumed)).toBe(202);
    const session = (await stores.metadata.getUpload(id))!;
    expect(session.partFloor).toBe(3);
    expect(session.parts.map((part) => part.number)).toEqual([1, 3]);

    const put = await b.send('PUT', withQuery(resumed.headers.get('location')!, { digest: sha256(blob) }));
    expect(put.status, await bodyText(put)).toBe(201);
    const back = new Uint8Array(await (await b.send('GET', `/v2/takeover/app/blobs/${sha256(blob)}`)).arrayBuffer());
    expect(sha256(back)).toBe(sha256(blob));

    controller.error(new Error('connection reset'));
    expect((await dying).status).not.toBe(202);
  }, 120_000);
});
