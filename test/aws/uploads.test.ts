import { createHash, randomBytes } from 'node:crypto';
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TTL_ATTRIBUTE } from '../../functions/adapters/aws/table-schema';
import { RegistryClient, bodyText, uniqueRepo, withQuery } from '../api/client';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { awsRegistry, sha256, sha256OfStream, type AwsRegistryFixture } from './fixture';

const MiB = 1024 * 1024;
/** What one Lambda invocation can carry; the registry advertises it as OCI-Chunk-Max-Length. */
const LAMBDA_BODY_LIMIT = Math.floor(4.4 * MiB);

let emulators: AwsEmulators;
let fixture: AwsRegistryFixture;
let client: RegistryClient;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  fixture = await awsRegistry(emulators, { blobRedirectSeconds: 60, maxRequestBodyBytes: LAMBDA_BODY_LIMIT });
  client = new RegistryClient(fixture.registry.fetch);
});
afterAll(async () => emulators?.stop());

// Every test checks the storage calls it made itself: none was refused (EntityTooSmall
// included), but for the errors the test provokes on purpose.
let callsBefore = 0;
let provoked: string[] = [];
beforeEach(() => {
  callsBefore = fixture.calls.length;
  provoked = [];
});
afterEach(() => {
  const refused = fixture.calls.slice(callsBefore).filter((call) => call.error && !provoked.includes(call.error));
  expect(refused, 'S3 or DynamoDB refused a call').toEqual([]);
});

interface Pushed {
  digest: string;
  size: number;
  /** Storage calls made by the final PUT, which commits the blob. */
  commitCalls: string[];
}

/** Pushes chunks as PATCHes with Content-Range, hashing them on the way, then commits with PUT. */
async function pushChunks(repo: string, chunks: Iterable<Uint8Array<ArrayBuffer>>): Promise<Pushed> {
  const hash = createHash('sha256');
  let location = await client.startUpload(repo);
  let offset = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    const range = `${offset}-${offset + chunk.byteLength - 1}`;
    const response = await client.send('PATCH', location, { body: chunk, headers: { 'Content-Range': range, 'Content-Type': 'application/octet-stream' } });
    expect(response.status, await bodyText(response)).toBe(202);
    expect(response.headers.get('range')).toBe(`0-${offset + chunk.byteLength - 1}`);
    location = response.headers.get('location')!;
    offset += chunk.byteLength;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  const before = fixture.calls.length;
  const put = await client.send('PUT', withQuery(location, { digest }));
  expect(put.status, await bodyText(put)).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  return { digest, size: offset, commitCalls: fixture.calls.slice(before).map((call) => call.command) };
}

function* randomChunks(count: number, size: number, keep?: Map<number, Uint8Array>): Generator<Uint8Array<ArrayBuffer>> {
  for (let index = 0; index < count; index++) {
    const chunk = new Uint8Array(randomBytes(size));
    keep?.set(index, chunk);
    yield chunk;
  }
}

describe('S3 + DynamoDB uploads through the core', () => {
  it('stores an 8 MiB blob sent in two 4 MiB PATCHes (a staged tail, then one part)', async () => {
    const repo = uniqueRepo('aws');
    const kept = new Map<number, Uint8Array>();
    const small = await pushChunks(repo, randomChunks(2, 4 * MiB, kept));
    expect(small.size).toBe(8 * MiB);
    const back = await client.send('GET', `/v2/${repo}/blobs/${small.digest}`);
    expect(back.status).toBe(307);
    expect(Buffer.from(await (await fetch(back.headers.get('location')!)).arrayBuffer()).equals(Buffer.concat([kept.get(0)!, kept.get(1)!]))).toBe(true);
  });

  it('stores a 200 MiB blob sent in 4 MiB PATCHes, serves it by presigned URL, and commits it as cheaply as a small one', async () => {
    // The reference: an 8 MiB blob, like the 200 MiB one the first push to its repository.
    const small = await pushChunks(uniqueRepo('aws'), randomChunks(2, 4 * MiB));
    const repo = uniqueRepo('aws');
    const kept = new Map<number, Uint8Array>();
    const big = await pushChunks(repo, randomChunks(50, 4 * MiB, kept));
    expect(big.size).toBe(200 * MiB);

    // Commit does the same storage calls at 8 MiB and 200 MiB: no copy, no read-back.
    expect(small.commitCalls.length).toBeGreaterThan(0);
    expect([...big.commitCalls].sort()).toEqual([...small.commitCalls].sort());
    expect(big.commitCalls.filter((command) => /Copy|GetObject/.test(command))).toEqual([]);

    const get = await client.send('GET', `/v2/${repo}/blobs/${big.digest}`);
    expect(get.status).toBe(307);
    const url = get.headers.get('location')!;
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(await sha256OfStream(download.body)).toEqual({ digest: big.digest, size: 200 * MiB });

    // Range requests work on the presigned URL, here across the boundary of two PATCHes.
    const start = 23 * 4 * MiB - 50;
    const ranged = await fetch(url, { headers: { Range: `bytes=${start}-${start + 99}` } });
    expect(ranged.status).toBe(206);
    const expected = Buffer.concat([kept.get(22)!.subarray(4 * MiB - 50), kept.get(23)!.subarray(0, 50)]);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(expected)).toBe(true);
  }, 180_000); // 208 MiB through the emulators: bounds a hang, not the speed

  it('accepts a 1 B + 6 MiB + 3 MiB + 5 MiB chunk mix', async () => {
    const sizes = [1, 6 * MiB, 3 * MiB, 5 * MiB];
    const chunks = sizes.map((size) => new Uint8Array(randomBytes(size)));
    // 6 and 5 MiB exceed what a Lambda takes; a second registry without the limit accepts them as-is.
    const unlimited = await awsRegistry(emulators, { blobRedirectSeconds: 0 });
    const direct = new RegistryClient(unlimited.registry.fetch);
    const repo = uniqueRepo('aws');
    let location = await direct.startUpload(repo);
    let offset = 0;
    for (const chunk of chunks) {
      const response = await direct.send('PATCH', location, { body: chunk, headers: { 'Content-Range': `${offset}-${offset + chunk.byteLength - 1}` } });
      expect(response.status, await bodyText(response)).toBe(202);
      location = response.headers.get('location')!;
      offset += chunk.byteLength;
    }
    const digest = sha256(Buffer.concat(chunks));
    const put = await direct.send('PUT', withQuery(location, { digest }));
    expect(put.status, await bodyText(put)).toBe(201);
    const back = await direct.send('GET', `/v2/${repo}/blobs/${digest}`);
    expect(await sha256OfStream(back.body)).toEqual({ digest, size: 14 * MiB + 1 });
    expect(unlimited.calls.filter((call) => call.error)).toEqual([]);
  });

  it('refuses a PATCH larger than one Lambda request can carry, with 413', async () => {
    const location = await client.startUpload(uniqueRepo('aws'));
    const response = await client.send('PATCH', location, { body: new Uint8Array(5 * MiB), headers: { 'Content-Range': `0-${5 * MiB - 1}` } });
    expect(response.status).toBe(413);
  });

  it('aborts the multipart upload and removes staged tails when an upload is cancelled', async () => {
    const location = await client.startUpload(uniqueRepo('aws'));
    const patched = await client.send('PATCH', location, { body: new Uint8Array(randomBytes(MiB)) });
    expect(patched.status).toBe(202);
    const id = patched.headers.get('docker-upload-uuid')!;
    const session = await fixture.stores.metadata.getUpload(id);
    expect(session?.tail?.size).toBe(MiB); // too short for a part: staged
    const { s3 } = fixture.stores.clients;
    const staged = () => s3.send(new ListObjectsV2Command({ Bucket: fixture.bucket, Prefix: `staging/${id}/` }));
    expect((await staged()).KeyCount).toBe(1);

    provoked = ['NoSuchUpload']; // the probe below, after the abort
    const cancelled = await client.send('DELETE', patched.headers.get('location')!);
    expect(cancelled.status).toBe(204);
    expect(await fixture.stores.metadata.getUpload(id)).toBeUndefined();
    expect((await staged()).KeyCount ?? 0).toBe(0);
    const { key, uploadId } = JSON.parse(session!.handle) as { key: string; uploadId: string };
    await expect(s3.send(new UploadPartCommand({ Bucket: fixture.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: new Uint8Array(1) })))
      .rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('gives every session an expiry that DynamoDB TTL enforces', async () => {
    const location = await client.startUpload(uniqueRepo('aws'));
    const id = new URL(location, 'http://x').pathname.split('/').at(-1)!;
    const session = await fixture.stores.metadata.getUpload(id);
    const now = Math.floor(Date.now() / 1000);
    expect(session!.expiresAt).toBeGreaterThan(now);
    expect(session!.expiresAt).toBeLessThanOrEqual(now + 86_400 + 5);
    const ddb = new DynamoDBClient({ region: emulators.region, endpoint: emulators.endpoints.dynamodb, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: fixture.table }));
    ddb.destroy();
    expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: TTL_ATTRIBUTE, TimeToLiveStatus: 'ENABLED' });
  });

  it('keeps a session holding the 10,000 parts S3 allows in one DynamoDB item', async () => {
    const location = await client.startUpload(uniqueRepo('aws'));
    const id = new URL(location, 'http://x').pathname.split('/').at(-1)!;
    const session = (await fixture.stores.metadata.getUpload(id))!;
    const parts = Array.from({ length: 10_000 }, (_, i) => ({
      number: i + 1, size: 5 * MiB, etag: `"${randomBytes(16).toString('hex')}" ${randomBytes(4).toString('base64')}`,
    }));
    const full = { ...session, parts, offset: 10_000 * 5 * MiB, hashState: `wasm:${'A'.repeat(200)}`, version: session.version + 1 };
    await fixture.stores.metadata.updateUpload(full, session.version);
    expect((await fixture.stores.metadata.getUpload(id))?.parts).toEqual(parts);
    await fixture.stores.metadata.deleteUpload(id);
  });

});
