import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, StoreUnavailableError, type Registry, type RegistryTask } from '../../functions/core/index';
import { MAX_VERIFY_ATTEMPTS, verifyDeadlineMs } from '../../functions/core/direct/direct-uploads';
import { expectError, rand, RegistryClient, sha256 } from '../api/client';
import { withFaults, type Faults } from './faults';
import { ManualTime } from './manual-time';
import { S3LikeStore } from './s3-like-store';

const MiB = 1024 * 1024;
const INTERNAL = 'InvalidPart: arn:aws:s3:::nimbus-blobs-123456789012/blobs/x';

interface Plan {
  id: string;
  partSize: number;
  parts: Array<{ number: number; url: string }>;
}

/**
 * Direct uploads whose verification is lost, refused, slow or repeated: a status request
 * hands an overdue verification over again (a bounded number of times), then fails the
 * upload with an error that says what to do; the verifier settles each upload once, and
 * throws on storage failures so its worker retries. Never stuck verifying.
 */
describe('direct upload verification that goes wrong', () => {
  let dir: string;
  let store: S3LikeStore;
  let blobFaults: Faults;
  let time: ManualTime;
  let registry: Registry;
  let client: RegistryClient;
  /** What the registry handed to the worker; nothing runs until a test says so. */
  let queue: RegistryTask[];
  let refuseEnqueue: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-direct-recovery-'));
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await metadata.init();
    store = new S3LikeStore(5 * MiB, 8 * MiB);
    const faulty = withFaults(store);
    blobFaults = faulty.faults;
    time = new ManualTime(Date.now());
    queue = [];
    refuseEnqueue = 0;
    registry = createRegistry({
      blobs: faulty.store, metadata, clock: time, timers: time,
      config: { uploadSecret: new Uint8Array(32).fill(4), blobRedirectSeconds: 0 },
      tasks: {
        enqueue: async (task) => {
          if (refuseEnqueue > 0) {
            refuseEnqueue--;
            throw new Error('Lambda Invoke failed: TooManyRequestsException arn:aws:lambda:eu-west-1:123456789012:function:verifier');
          }
          queue.push(task);
        },
      },
    });
    client = new RegistryClient(registry.fetch);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  // Each test starts with nothing handed over and nothing refused, whatever ran before it.
  beforeEach(() => {
    queue.length = 0;
    refuseEnqueue = 0;
    blobFaults.clear();
  });

  async function uploaded(repo: string, bytes: Uint8Array, promised = bytes) {
    const started = await client.send('POST', `/v2/${repo}/_nimbus/direct-uploads`, { body: JSON.stringify({ digest: sha256(promised), size: bytes.byteLength }) });
    expect(started.status).toBe(201);
    const plan = await started.json() as Plan;
    const parts = plan.parts.map((part) => ({
      number: part.number,
      etag: store.uploadDirectPart(part.url, bytes.subarray((part.number - 1) * plan.partSize, part.number * plan.partSize)),
    }));
    const path = `/v2/${repo}/_nimbus/direct-uploads/${plan.id}`;
    return { plan, path, complete: () => client.send('PUT', path, { body: JSON.stringify({ parts }) }), status: () => client.send('GET', path) };
  }

  async function state(response: Response): Promise<string> {
    expect([201, 202], await response.clone().text()).toContain(response.status);
    return (await response.json() as { state: string }).state;
  }

  it('hands a verification whose event was lost over again once it is overdue, and the blob becomes verified', async () => {
    const bytes = rand(6 * MiB);
    const upload = await uploaded('direct/lost', bytes);
    expect(await state(await upload.complete())).toBe('verifying');
    expect(queue.splice(0)).toHaveLength(1); // lost: never runs
    time.advance(verifyDeadlineMs(bytes.byteLength) - 1);
    expect(await state(await upload.status())).toBe('verifying');
    expect(queue).toHaveLength(0); // not overdue yet: nothing handed over twice
    time.advance(1);
    expect(await state(await upload.status())).toBe('verifying');
    expect(queue).toEqual([{ type: 'verify-direct-upload', upload: upload.plan.id }]);
    await registry.runTask(queue.pop()!);
    expect(await state(await upload.status())).toBe('verified');
    expect((await client.send('HEAD', `/v2/direct/lost/blobs/${sha256(bytes)}`)).status).toBe(200);
  });

  it(`fails an upload whose verification never finishes after ${MAX_VERIFY_ATTEMPTS} hand-overs, with an error that says to push again`, async () => {
    const bytes = rand(5 * MiB + 7);
    const upload = await uploaded('direct/never', bytes);
    await upload.complete();
    for (let handed = 1; handed < MAX_VERIFY_ATTEMPTS; handed++) {
      time.advance(verifyDeadlineMs(bytes.byteLength));
      expect(await state(await upload.status())).toBe('verifying');
    }
    expect(queue.splice(0)).toHaveLength(MAX_VERIFY_ATTEMPTS);
    time.advance(verifyDeadlineMs(bytes.byteLength));
    const failed = await expectError(await upload.status(), 400, 'BLOB_UPLOAD_INVALID');
    expect(failed.message).toMatch(/push the blob again/);
    await expectError(await upload.complete(), 400, 'BLOB_UPLOAD_INVALID'); // a retried completion says the same
    expect(queue).toHaveLength(0);
  });

  it('answers 202 when the queue refuses the hand-over, and a status request soon after hands it over', async () => {
    const bytes = rand(6 * MiB);
    const upload = await uploaded('direct/refused', bytes);
    refuseEnqueue = 1;
    const completed = await upload.complete();
    expect(JSON.stringify(await completed.clone().json())).not.toMatch(/arn:aws|TooManyRequests/);
    expect(await state(completed)).toBe('verifying');
    expect(queue).toHaveLength(0);
    time.advance(5_000);
    expect(await state(await upload.status())).toBe('verifying');
    expect(queue).toHaveLength(1);
    await registry.runTask(queue.pop()!);
    expect(await state(await upload.status())).toBe('verified');
  });

  it('throws on a storage failure during verification, so the worker retries, and leaves the upload verifying', async () => {
    const bytes = rand(6 * MiB);
    const upload = await uploaded('direct/flaky', bytes);
    await upload.complete();
    blobFaults.fail('read', new StoreUnavailableError('S3 GetObject: ServiceUnavailable'));
    await expect(registry.runTask(queue.pop()!)).rejects.toThrow(StoreUnavailableError);
    expect(await state(await upload.status())).toBe('verifying');
    await registry.runTask({ type: 'verify-direct-upload', upload: upload.plan.id }); // the worker's retry
    expect(await state(await upload.status())).toBe('verified');
  });

  it('settles each upload once, whatever duplicate or concurrent verifier runs do', async () => {
    const good = rand(6 * MiB);
    const verified = await uploaded('direct/dupes', good);
    await verified.complete();
    const task = queue.pop()!;
    await Promise.all([registry.runTask(task), registry.runTask(task), registry.runTask(task)]);
    await registry.runTask(task);
    expect(await state(await verified.status())).toBe('verified');

    const promised = rand(6 * MiB);
    const tampered = await uploaded('direct/dupes', rand(6 * MiB), promised);
    await tampered.complete();
    const bad = queue.pop()!;
    // A run that finds the bytes already deleted by the other, before that one settled, throws:
    // its worker retries, and the retry finds the upload settled.
    const runs = await Promise.allSettled([registry.runTask(bad), registry.runTask(bad)]);
    for (const run of runs) if (run.status === 'rejected') expect(String(run.reason)).toMatch(/missing while it is verifying/);
    await registry.runTask(bad);
    const error = await expectError(await tampered.status(), 400, 'DIGEST_INVALID');
    expect(error.message).toMatch(/they were deleted/);
    expect((await client.send('HEAD', `/v2/direct/dupes/blobs/${sha256(promised)}`)).status).toBe(404);
  });

  it('does nothing for an upload cancelled before its verifier ran', async () => {
    const upload = await uploaded('direct/cancelled', rand(6 * MiB));
    await upload.complete();
    expect((await client.send('DELETE', upload.path)).status).toBe(204);
    await registry.runTask(queue.pop()!);
    await expectError(await upload.status(), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('tells the client in its own words when storage refuses the parts, and passes storage pressure on as retryable', async () => {
    const refused = await uploaded('direct/refused-parts', rand(6 * MiB));
    blobFaults.fail('completeUpload', new Error(INTERNAL));
    const error = await expectError(await refused.complete(), 400, 'BLOB_UPLOAD_INVALID');
    expect(JSON.stringify(error)).not.toMatch(/arn:aws|InvalidPart/);
    blobFaults.fail('completeUpload', new StoreUnavailableError(`S3 CompleteMultipartUpload: ${INTERNAL}`));
    const unavailable = await expectError(await refused.complete(), 503, 'UNAVAILABLE');
    expect(JSON.stringify(unavailable)).not.toMatch(/arn:aws|InvalidPart/);
    expect(await state(await refused.complete())).toBe('verifying');
  });
});
