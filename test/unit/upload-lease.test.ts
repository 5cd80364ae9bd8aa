import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, StoreUnavailableError, wasmHashing, type BlobStore, type MetadataStore, type PartRecord, type UploadSession } from '../../functions/core/index';
import { BODY_STALL_MS } from '../../functions/core/upload/lease';
import { bodyText, expectError, rand, RegistryClient, sha256, withQuery } from '../api/client';
import { withFaults } from './faults';
import { ManualTime } from './manual-time';
import { S3LikeStore } from './s3-like-store';

/**
 * Upload leases between processes that share the stores, on manual clocks: heartbeats keep a
 * live request's hold whatever it waits for, a dead holder's hold lapses within the lease,
 * a holder that cannot renew stops before its lease can lapse, and a stale holder's late
 * writes (a paused process, a skewed clock) never replace a newer holder's part or commit.
 */
/** Conditions that depend on file or timer I/O: generous on a loaded machine. */
const PATIENCE = { timeout: 10_000, interval: 5 };
const LEASE_S = 15;
const L = LEASE_S * 1000;
const STEP = L / 12;
const MIN = 1000;
const PART = 1600;

/** Part writes that land only when released, as a slow UploadPart (or a paused process's) does. */
class HeldWrites {
  private armed = 0;
  readonly held: Array<{ number: number; release: () => void }> = [];

  holdNext(): void {
    this.armed++;
  }

  wrap(store: BlobStore): BlobStore {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'writePart' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<BlobStore['writePart']>): Promise<PartRecord> => {
          if (this.armed > 0) {
            this.armed--;
            await new Promise<void>((release) => this.held.push({ number: args[1].number, release }));
          }
          return store.writePart(...args);
        };
      },
    });
  }
}

function controlledBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
  return { stream, push: (bytes: Uint8Array) => controller.enqueue(bytes), end: () => controller.close(), fail: () => controller.error(new Error('connection reset')) };
}

describe('upload leases across processes', () => {
  let dir: string;
  let metadata: FsMetadataStore;
  let store: S3LikeStore;
  let writes: HeldWrites;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-lease-'));
    metadata = new FsMetadataStore(dir, { fsync: false });
    await metadata.init();
    store = new S3LikeStore(MIN, PART);
    writes = new HeldWrites();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Lease deadlines a process's heartbeats wrote, as it logs them once it knows they succeeded. */
  const renewals = new Map<RegistryClient, number[]>();

  /** One registry process on its own clock, sharing the stores. */
  function processOn(time: ManualTime, metadataPort: MetadataStore = metadata) {
    const renewed: number[] = [];
    const registry = createRegistry({
      blobs: writes.wrap(store), metadata: metadataPort, hashing: wasmHashing, clock: time, timers: time,
      logger: { log: (_level, message, fields) => message === 'upload lease renewed' && renewed.push(fields!.until as number) },
      config: { uploadSecret: new Uint8Array(32).fill(5), uploadLeaseSeconds: LEASE_S, blobRedirectSeconds: 0 },
    });
    const client = new RegistryClient(registry.fetch);
    renewals.set(client, renewed);
    return client;
  }

  /** Waits until `holder` knows its lease runs for more than half a lease from now (its heartbeats work). */
  async function heldAhead(holder: RegistryClient, acquiredUntil: number, time: ManualTime): Promise<void> {
    await vi.waitFor(() => expect(Math.max(acquiredUntil, ...renewals.get(holder)!) - time.now()).toBeGreaterThan(L / 2), PATIENCE);
  }

  const idOf = (location: string) => new URL(location, 'http://x').pathname.split('/').at(-1)!;
  const session = async (location: string): Promise<UploadSession> => (await metadata.getUpload(idOf(location)))!;
  const patchFrom = (client: RegistryClient, location: string, bytes: Uint8Array<ArrayBuffer>, offset: number) =>
    client.send('PATCH', location, { body: bytes.subarray(offset), headers: { 'Content-Range': `${offset}-${bytes.byteLength - 1}` } });

  async function finish(client: RegistryClient, response: Response, blob: Uint8Array, repo: string): Promise<void> {
    expect(response.status, await bodyText(response)).toBe(202);
    const put = await client.send('PUT', withQuery(response.headers.get('location')!, { digest: sha256(blob) }));
    expect(put.status, await bodyText(put)).toBe(201);
    const back = new Uint8Array(await (await client.send('GET', `/v2/${repo}/blobs/${sha256(blob)}`)).arrayBuffer());
    expect(sha256(back)).toBe(sha256(blob));
  }

  it('renews the lease while the client is silent, for as long as the request lasts', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = rand(3000);
    const location = await a.startUpload('lease/silent');
    const body = controlledBody();
    const pending = a.send('PATCH', location, { body: body.stream });
    body.push(blob.subarray(0, 500));
    await vi.waitFor(async () => expect((await session(location)).lease).toBeDefined(), PATIENCE);
    const acquired = (await session(location)).lease!.until;
    for (let step = 0; step < 36; step++) { // three lease lifetimes
      timeA.advance(STEP);
      timeB.advance(STEP);
      await heldAhead(a, acquired, timeA);
      await expectError(await patchFrom(b, location, blob, 0), 416, 'BLOB_UPLOAD_INVALID');
    }
    expect(renewals.get(a)!.length).toBeGreaterThanOrEqual(8);
    body.push(blob.subarray(500));
    body.end();
    await finish(a, await pending, blob, 'lease/silent');
  });

  it('renews the lease while a part is on its way to storage', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = rand(2000);
    const location = await a.startUpload('lease/slow-part');
    writes.holdNext();
    const pending = a.send('PATCH', location, { body: blob });
    await vi.waitFor(() => expect(writes.held).toHaveLength(1), PATIENCE);
    const acquired = (await session(location)).lease!.until;
    for (let step = 0; step < 36; step++) {
      timeA.advance(STEP);
      timeB.advance(STEP);
      await heldAhead(a, acquired, timeA);
      await expectError(await patchFrom(b, location, blob, 0), 416, 'BLOB_UPLOAD_INVALID');
    }
    writes.held.shift()!.release();
    await finish(a, await pending, blob, 'lease/slow-part');
  });

  it('frees the upload of a holder that died within one lease of its death, and the resumed upload is intact', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = rand(6000);
    const location = await a.startUpload('lease/dead');
    const body = controlledBody();
    const pending = a.send('PATCH', location, { body: body.stream });
    body.push(blob.subarray(0, 2000)); // one part, checkpointed, and the start of the next
    await vi.waitFor(async () => expect((await session(location)).offset).toBe(PART), PATIENCE);
    timeA.advance(L / 2); // a heartbeat renews it once more, then the process dies: its clock and timers stop
    timeB.advance(L / 2);
    await vi.waitFor(async () => expect((await session(location)).lease!.until).toBeGreaterThan(timeB.now() + L / 2), PATIENCE);
    const diedAt = timeB.now();
    const until = (await session(location)).lease!.until;
    timeB.advance(until - timeB.now() - 1);
    await expectError(await patchFrom(b, location, blob, PART), 416, 'BLOB_UPLOAD_INVALID');
    timeB.advance(1);
    expect(timeB.now() - diedAt).toBeLessThanOrEqual(L);
    await finish(b, await patchFrom(b, location, blob, PART), blob, 'lease/dead');
    body.fail();
    expect((await pending).status).not.toBe(202);
  });

  it('stops a holder that cannot renew before its lease can lapse, and gives the upload to the next one after', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const failing = withFaults<MetadataStore>(metadata);
    const [a, b] = [processOn(timeA, failing.store), processOn(timeB)];
    const blob = rand(3000);
    const location = await a.startUpload('lease/fenced');
    const body = controlledBody();
    const pending = a.send('PATCH', location, { body: body.stream });
    body.push(blob.subarray(0, 500));
    await vi.waitFor(async () => expect((await session(location)).lease).toBeDefined(), PATIENCE);
    const until = (await session(location)).lease!.until;
    failing.faults.fail('updateUpload', new StoreUnavailableError('DynamoDB is unreachable'), { times: 1000 });
    let answeredAt: number | undefined;
    void pending.then(() => (answeredAt = timeA.now()));
    const renewed = until - L;
    while (answeredAt === undefined && timeA.now() - renewed < (2 * L) / 3) {
      timeA.advance(STEP);
      timeB.advance(STEP);
      // Past the fence time the request must have answered; before it, renewals are being tried.
      if (timeA.now() - renewed >= (7 * L) / 12) await vi.waitFor(() => expect(answeredAt).toBeDefined(), PATIENCE);
      else if (timeA.now() - renewed >= L / 3) await vi.waitFor(() => expect(failing.faults.calls.get('updateUpload')).toBeGreaterThan(0), PATIENCE);
    }
    expect(until - answeredAt!).toBeGreaterThanOrEqual(L / 3); // stopped well before another process could take over
    await expectError(await pending, 503, 'UNAVAILABLE');
    timeB.advance(until - timeB.now());
    await finish(b, await patchFrom(b, location, blob, 0), blob, 'lease/fenced');
  });

  it('never lets a stale holder\'s late part replace a part a newer holder recorded', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = rand(5000);
    const location = await a.startUpload('lease/late-part');
    const body = controlledBody();
    const pending = a.send('PATCH', location, { body: body.stream });
    body.push(blob.subarray(0, PART));
    await vi.waitFor(async () => expect((await session(location)).offset).toBe(PART), PATIENCE);
    // A now sends other bytes; their part is slow to land and A's process pauses (its clock stops).
    writes.holdNext();
    body.push(rand(PART));
    await vi.waitFor(() => expect(writes.held).toHaveLength(1), PATIENCE);
    const late = writes.held.shift()!;
    expect(late.number).toBe(2);
    timeB.advance((await session(location)).lease!.until - timeB.now());
    const resumed = await patchFrom(b, location, blob, PART);
    expect((await session(location)).parts.map((part) => part.number)).not.toContain(late.number);
    late.release(); // lands after B recorded its parts
    await vi.waitFor(() => expect(store.uploads.get(idOf(location))?.has(late.number)).toBe(true), PATIENCE);
    await finish(b, resumed, blob, 'lease/late-part');
    body.fail();
    expect((await pending).status).not.toBe(202);
  });

  it('never lets a stale holder commit, even with a clock that says its lease still holds', async () => {
    const [timeA, timeB] = [new ManualTime(), new ManualTime()];
    const [a, b] = [processOn(timeA), processOn(timeB)];
    const blob = rand(5000);
    const location = await b.startUpload('lease/stale-commit');
    const first = await b.send('PATCH', location, { body: blob.subarray(0, 2500) });
    expect(first.status).toBe(202);
    // A completes with other bytes; its part write is slow, and A's clock never moves again (skewed).
    const other = rand(2500);
    const otherDigest = sha256(new Uint8Array([...blob.subarray(0, 2500), ...other]));
    writes.holdNext();
    const stale = a.send('PUT', withQuery(first.headers.get('location')!, { digest: otherDigest }), { body: other });
    await vi.waitFor(() => expect(writes.held).toHaveLength(1), PATIENCE);
    timeB.advance((await session(location)).lease!.until - timeB.now());
    const resumed = await patchFrom(b, location, blob, 2500);
    expect(resumed.status, await bodyText(resumed)).toBe(202);
    writes.held.shift()!.release(); // A's part lands on a number B does not use; A's next step fails its compare-and-swap
    await expectError(await stale, 416, 'BLOB_UPLOAD_INVALID');
    await finish(b, resumed, blob, 'lease/stale-commit');
    expect((await b.send('HEAD', `/v2/lease/stale-commit/blobs/${otherDigest}`)).status).toBe(404);
  });

  it('ends a request whose client stays silent, and gives the upload back at once', async () => {
    const time = new ManualTime();
    const client = processOn(time);
    const blob = rand(3000);
    const location = await client.startUpload('lease/stalled');
    const body = controlledBody();
    const pending = client.send('PATCH', location, { body: body.stream });
    body.push(blob.subarray(0, 500));
    await vi.waitFor(async () => expect((await session(location)).lease).toBeDefined(), PATIENCE);
    const acquired = (await session(location)).lease!.until;
    let answered = false;
    void pending.then(() => (answered = true));
    for (let waited = 0; waited < BODY_STALL_MS; waited += STEP) {
      time.advance(STEP);
      await heldAhead(client, acquired, time);
    }
    await vi.waitFor(() => expect(answered).toBe(true), PATIENCE);
    await expectError(await pending, 400, 'BLOB_UPLOAD_INVALID');
    const status = await client.send('GET', location);
    const offset = Number(/^0-(\d+)$/.exec(status.headers.get('range')!)![1]) + 1;
    await finish(client, await patchFrom(client, location, blob, offset === 1 ? 0 : offset), blob, 'lease/stalled');
  });
});
