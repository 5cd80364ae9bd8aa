import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, StoreNotFoundError, StoreUnavailableError, wasmHashing, type BlobStore } from '../../functions/core/index';
import { bodyText, expectError, rand, RegistryClient, sha256, streamBody, withQuery } from '../api/client';
import { withFaults, type Faults } from './faults';
import { S3LikeStore } from './s3-like-store';

/**
 * Every way a PATCH, PUT or DELETE can fail leaves the upload session usable at once (its
 * Range tells the client where to resume, and the resumed upload completes with the right
 * digest) or gone (BLOB_UPLOAD_UNKNOWN). Never leased by a request that already answered:
 * the retry would get 416 until the lease lapsed. Store failures answer retryable errors
 * that name nothing of the store.
 */
const FIRST = 2500;
const TOTAL = 5000;
/** Larger than the one request the registry accepts (maxRequestBodyBytes). */
const TOO_LARGE = 3500;
const INTERNAL = 'arn:aws:dynamodb:eu-west-1:123456789012:table/secret-internal';

type Prepare = 'first-chunk' | 'all-patched';
type After = 'usable' | 'gone' | 'delete-again';
type Store = 's3-like' | 'files';

interface Case {
  name: string;
  /** The upload before the failing request: the first chunk, or every byte (the PUT carries none). */
  prepare: Prepare;
  request: 'PATCH' | 'PUT' | 'DELETE';
  body?: 'rest' | 'too-large' | 'short' | 'dying';
  digest?: 'wrong' | 'sha512';
  /** A store call that fails: the `skip`+1-th call of `method` during the failing request. */
  fault?: { port: 'blobs' | 'metadata'; method: string; skip?: number; gone?: boolean };
  /** The failing request is cancelled by a DELETE while it runs. */
  deletedMeanwhile?: boolean;
  status: number;
  code: string;
  after: After;
  /** Stores where this failure point exists (a staged tail exists only with a minimum part size). */
  only?: Store;
}

const unavailable = { status: 503, code: 'UNAVAILABLE' };

const CASES: Case[] = [
  // PATCH with the rest of the blob (parts, checkpoints, a new staged tail).
  { name: 'PATCH: body larger than one request may carry', prepare: 'first-chunk', request: 'PATCH', body: 'too-large', status: 413, code: 'SIZE_INVALID', after: 'usable' },
  { name: 'PATCH: body shorter than its Content-Range', prepare: 'first-chunk', request: 'PATCH', body: 'short', status: 400, code: 'SIZE_INVALID', after: 'usable' },
  { name: 'PATCH: client disconnects mid-body', prepare: 'first-chunk', request: 'PATCH', body: 'dying', status: 400, code: 'BLOB_UPLOAD_INVALID', after: 'usable' },
  { name: 'PATCH: session store fails taking the lease', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'metadata', method: 'updateUpload' }, ...unavailable, after: 'usable' },
  { name: 'PATCH: reading the staged tail fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'blobs', method: 'getStaged' }, ...unavailable, after: 'usable', only: 's3-like' },
  { name: 'PATCH: the first part write fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'blobs', method: 'writePart' }, ...unavailable, after: 'usable' },
  { name: 'PATCH: the second part write fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'blobs', method: 'writePart', skip: 1 }, ...unavailable, after: 'usable' },
  { name: 'PATCH: a checkpoint fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'metadata', method: 'updateUpload', skip: 1 }, ...unavailable, after: 'usable' },
  { name: 'PATCH: staging the new tail fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'blobs', method: 'putStaged' }, ...unavailable, after: 'usable', only: 's3-like' },
  { name: 'PATCH: the final save fails', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'metadata', method: 'updateUpload', skip: 3 }, ...unavailable, after: 'usable' },
  { name: 'PATCH: the storage upload is gone (expired by the store)', prepare: 'first-chunk', request: 'PATCH', body: 'rest', fault: { port: 'blobs', method: 'writePart', gone: true }, status: 404, code: 'BLOB_UPLOAD_UNKNOWN', after: 'gone' },
  { name: 'PATCH: cancelled by a DELETE while it runs (lease lost)', prepare: 'first-chunk', request: 'PATCH', body: 'rest', deletedMeanwhile: true, status: 404, code: 'BLOB_UPLOAD_UNKNOWN', after: 'gone' },
  // PUT ?digest= carrying the last chunk.
  { name: 'PUT: digest does not match the bytes', prepare: 'first-chunk', request: 'PUT', body: 'rest', digest: 'wrong', status: 400, code: 'DIGEST_INVALID', after: 'gone' },
  { name: 'PUT: digest algorithm differs from the session\'s', prepare: 'first-chunk', request: 'PUT', body: 'rest', digest: 'sha512', status: 400, code: 'DIGEST_INVALID', after: 'usable' },
  { name: 'PUT: body larger than one request may carry', prepare: 'first-chunk', request: 'PUT', body: 'too-large', status: 413, code: 'SIZE_INVALID', after: 'usable' },
  { name: 'PUT: body shorter than its Content-Range', prepare: 'first-chunk', request: 'PUT', body: 'short', status: 400, code: 'SIZE_INVALID', after: 'usable' },
  { name: 'PUT: client disconnects mid-body', prepare: 'first-chunk', request: 'PUT', body: 'dying', status: 400, code: 'BLOB_UPLOAD_INVALID', after: 'usable' },
  { name: 'PUT: a part write fails', prepare: 'first-chunk', request: 'PUT', body: 'rest', fault: { port: 'blobs', method: 'writePart' }, ...unavailable, after: 'usable' },
  { name: 'PUT: cancelled by a DELETE while it runs (lease lost)', prepare: 'first-chunk', request: 'PUT', body: 'rest', deletedMeanwhile: true, status: 404, code: 'BLOB_UPLOAD_UNKNOWN', after: 'gone' },
  // Empty PUT ?digest= after every byte was patched: each step of the commit.
  { name: 'PUT: session store fails taking the lease', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'updateUpload' }, ...unavailable, after: 'usable' },
  { name: 'PUT: reading the staged tail fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'blobs', method: 'getStaged' }, ...unavailable, after: 'usable', only: 's3-like' },
  { name: 'PUT: writing the tail as the last part fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'blobs', method: 'writePart' }, ...unavailable, after: 'usable', only: 's3-like' },
  { name: 'PUT: recording the commit fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'updateUpload', skip: 1 }, ...unavailable, after: 'usable' },
  { name: 'PUT: looking up the blob fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'getBlob' }, ...unavailable, after: 'usable' },
  { name: 'PUT: assembling the blob fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'blobs', method: 'completeUpload' }, ...unavailable, after: 'usable' },
  { name: 'PUT: storing the blob record fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'putBlob' }, ...unavailable, after: 'usable' },
  { name: 'PUT: linking the blob to the repository fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'linkBlob' }, ...unavailable, after: 'usable' },
  { name: 'PUT: removing the finished session fails', prepare: 'all-patched', request: 'PUT', fault: { port: 'metadata', method: 'deleteUpload' }, ...unavailable, after: 'usable' },
  { name: 'PUT: the storage upload is gone when assembling the blob', prepare: 'all-patched', request: 'PUT', fault: { port: 'blobs', method: 'completeUpload', gone: true }, status: 404, code: 'BLOB_UPLOAD_UNKNOWN', after: 'gone' },
  { name: 'PUT: digest does not match the bytes (empty PUT)', prepare: 'all-patched', request: 'PUT', digest: 'wrong', status: 400, code: 'DIGEST_INVALID', after: 'gone' },
  // DELETE.
  { name: 'DELETE: aborting the storage upload fails', prepare: 'first-chunk', request: 'DELETE', fault: { port: 'blobs', method: 'abortUpload' }, ...unavailable, after: 'usable' },
  { name: 'DELETE: removing the session fails', prepare: 'first-chunk', request: 'DELETE', fault: { port: 'metadata', method: 'deleteUpload' }, ...unavailable, after: 'delete-again' },
];

interface Fixture {
  client: RegistryClient;
  blobFaults: Faults;
  metadataFaults: Faults;
}

async function fixture(kind: Store, dir: string): Promise<Fixture> {
  const metadata = new FsMetadataStore(dir, { fsync: false });
  await metadata.init();
  let blobs: BlobStore;
  if (kind === 's3-like') {
    blobs = new S3LikeStore(1000, 1600);
  } else {
    const files = new FsBlobStore(dir, { fsync: false, partSize: 1024 });
    await files.init();
    blobs = files;
  }
  const faultyBlobs = withFaults(blobs);
  const faultyMetadata = withFaults(metadata);
  const registry = createRegistry({
    blobs: faultyBlobs.store, metadata: faultyMetadata.store, hashing: wasmHashing,
    config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0, maxRequestBodyBytes: 3000 },
  });
  return { client: new RegistryClient(registry.fetch), blobFaults: faultyBlobs.faults, metadataFaults: faultyMetadata.faults };
}

/** A body that sends `bytes` and then fails, as a client that drops the connection. */
function dyingBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(new Error('connection reset by peer'));
      controller.enqueue(bytes);
      sent = true;
    },
  });
}

/** A body that pauses after its first chunk until `resume()`. */
function pausingBody(bytes: Uint8Array, firstChunk: number) {
  let resume!: () => void;
  let paused!: () => void;
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  const reachedPause = new Promise<void>((resolve) => (paused = resolve));
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (step === 0) controller.enqueue(bytes.slice(0, firstChunk));
      else if (step === 1) {
        paused();
        await resumed;
        controller.enqueue(bytes.slice(firstChunk));
      } else controller.close();
      step++;
    },
  });
  return { body, resume, reachedPause };
}

function requestBody(test: Case, rest: Uint8Array): { body?: BodyInit; headers: Record<string, string> } {
  const range = (length: number) => ({ 'Content-Range': `${FIRST}-${FIRST + length - 1}` });
  switch (test.body) {
    case 'rest': return { body: streamBody(rest, 700), headers: range(rest.byteLength) };
    // What checkpoints keep of a failed body is the blob's own bytes: the client resumes after them.
    case 'too-large': return { body: streamBody(new Uint8Array([...rest, ...rand(TOO_LARGE - rest.byteLength)]), 700), headers: {} };
    case 'short': return { body: streamBody(rest.subarray(0, 1800), 700), headers: range(rest.byteLength) };
    case 'dying': return { body: dyingBody(rest.subarray(0, 1800)), headers: {} };
    default: return { headers: {} };
  }
}

describe.each<Store>(['s3-like', 'files'])('upload failure paths (%s store)', (kind) => {
  let dir: string;
  let f: Fixture;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-failures-'));
    f = await fixture(kind, dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const applicable = CASES.filter((test) => !test.only || test.only === kind);

  it.each(applicable)('$name → $status $code, then the upload is $after', async (test) => {
    const { client } = f;
    const repo = `failures/${kind}`;
    const blob = rand(TOTAL);
    const digest = sha256(blob);
    let location = await client.startUpload(repo);
    const chunks = test.prepare === 'all-patched' ? [blob.subarray(0, FIRST), blob.subarray(FIRST)] : [blob.subarray(0, FIRST)];
    for (const chunk of chunks) {
      const patched = await client.send('PATCH', location, { body: streamBody(chunk, 900) });
      expect(patched.status, await bodyText(patched)).toBe(202);
      location = patched.headers.get('location')!;
    }

    if (test.fault) {
      const faults = test.fault.port === 'blobs' ? f.blobFaults : f.metadataFaults;
      const error = test.fault.gone
        ? new StoreNotFoundError(`S3 ${test.fault.method}: NoSuchUpload: ${INTERNAL}`)
        : new StoreUnavailableError(`${test.fault.method}: ServiceUnavailable: ${INTERNAL}`);
      faults.fail(test.fault.method, error, { skip: test.fault.skip ?? 0 });
    }
    const claimed = test.digest === 'wrong' ? sha256('other bytes') : test.digest === 'sha512' ? `sha512:${'ab'.repeat(64)}` : digest;
    const target = test.request === 'PUT' ? withQuery(location, { digest: claimed }) : location;
    let response: Response;
    if (test.deletedMeanwhile) {
      const paused = pausingBody(blob.subarray(FIRST), 1700);
      const pending = client.send(test.request, target, { body: paused.body, headers: { 'Content-Range': `${FIRST}-${TOTAL - 1}` } });
      await paused.reachedPause; // the request holds the session and has written a part
      const cancelled = await client.send('DELETE', location);
      expect(cancelled.status).toBe(204);
      paused.resume();
      response = await pending;
    } else {
      response = await client.send(test.request, target, requestBody(test, blob.subarray(FIRST)));
    }
    const error = await expectError(response, test.status, test.code);
    expect(JSON.stringify(error)).not.toContain('arn:aws');
    f.blobFaults.clear();
    f.metadataFaults.clear();

    if (test.after === 'gone') {
      await expectError(await client.send('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    } else if (test.after === 'delete-again') {
      expect((await client.send('DELETE', location)).status).toBe(204);
      await expectError(await client.send('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
    } else {
      await resumeAndFinish(client, location, blob, repo);
    }
  });
});

/** What a client does after a failure: asks where the upload stands, sends the rest, completes. No waiting. */
async function resumeAndFinish(client: RegistryClient, location: string, blob: Uint8Array, repo: string): Promise<void> {
  const status = await client.send('GET', location);
  expect(status.status, await bodyText(status)).toBe(204);
  const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1]);
  let offset = end === 0 ? 0 : end + 1;
  let next = status.headers.get('location')!;
  if (offset < blob.byteLength) {
    const rest = await client.send('PATCH', next, {
      body: streamBody(blob.subarray(offset), 800), headers: { 'Content-Range': `${offset}-${blob.byteLength - 1}` },
    });
    expect(rest.status, await bodyText(rest)).toBe(202);
    next = rest.headers.get('location')!;
    offset = blob.byteLength;
  }
  const put = await client.send('PUT', withQuery(next, { digest: sha256(blob) }));
  expect(put.status, await bodyText(put)).toBe(201);
  const back = new Uint8Array(await (await client.send('GET', `/v2/${repo}/blobs/${sha256(blob)}`)).arrayBuffer());
  expect(sha256(back)).toBe(sha256(blob));
}
