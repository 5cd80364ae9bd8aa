import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, wasmHashing, type Registry } from '../../functions/core/index';
import { RegistryClient, sha256, withQuery, bodyText } from '../api/client';
import { seededArray } from '../../harness/image/seeded-bytes';
import { S3LikeStore } from './s3-like-store';

/**
 * The core against a store with S3's rules and the Lambda path's portable hashing: any
 * sequence of chunk sizes must become valid parts, resume the hash across requests, and
 * keep memory to about two parts.
 */
describe('uploads into a store with a minimum part size', () => {
  const MIN = 1000;
  const PART = 1600;
  let dir: string;
  let store: S3LikeStore;
  let client: RegistryClient;
  let registry: Registry;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-buffered-'));
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await metadata.init();
    store = new S3LikeStore(MIN, PART);
    registry = createRegistry({ blobs: store, metadata, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(1), blobRedirectSeconds: 0 } });
    client = new RegistryClient(registry.fetch);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function pushInChunks(sizes: number[], seed = 0, repo = 'prop/app'): Promise<Uint8Array> {
    const bytes = seededArray(seed, sizes.reduce((a, b) => a + b, 0));
    let location = await client.startUpload(repo);
    let offset = 0;
    for (const size of sizes) {
      const response = await client.send('PATCH', location, {
        body: bytes.subarray(offset, offset + size), headers: { 'Content-Range': `${offset}-${offset + size - 1}` },
      });
      expect(response.status, await bodyText(response)).toBe(202);
      offset += size;
      expect(response.headers.get('range')).toBe(`0-${offset - 1}`);
      location = response.headers.get('location')!;
    }
    const put = await client.send('PUT', withQuery(location, { digest: sha256(bytes) }));
    expect(put.status, await bodyText(put)).toBe(201);
    // What the store assembled from its parts, read back: the registry's hash only saw what arrived.
    const get = await client.send('GET', `/v2/${repo}/blobs/${sha256(bytes)}`);
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(bytes));
    return bytes;
  }

  it('turns any chunk sequence into valid parts with the right digest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 12 }), fc.nat(), async (sizes, seed) => {
        await pushInChunks(sizes, seed);
      }),
      { numRuns: 60 },
    );
    // A part is at most one cut plus a folded tail: memory stays near two parts.
    expect(store.maxBufferedPart).toBeLessThanOrEqual(PART + MIN);
  });

  it('handles the 1 B + 6 + 3 + 5 mix scaled to this store', async () => {
    await pushInChunks([1, 6 * 250, 3 * 250, 5 * 250]);
  });

  it('leaves no staged tails behind after completing', async () => {
    await pushInChunks([10, 20, 30]);
    expect([...store.staged.keys()]).toEqual([]);
  });

  it('completes an empty upload', async () => {
    const location = await client.startUpload('prop/empty');
    const put = await client.send('PUT', withQuery(location, { digest: sha256(new Uint8Array(0)) }));
    expect(put.status, await bodyText(put)).toBe(201);
  });
});
