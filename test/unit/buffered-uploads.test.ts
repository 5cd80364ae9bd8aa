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

describe('session writes of a PATCH that ends on a part boundary', () => {
  const MIN = 1000;
  const PART = 1600;

  /** Parts land on a later turn of the event loop, as storage answers over the network. */
  class NetworkedStore extends S3LikeStore {
    override async writePart(...args: Parameters<S3LikeStore['writePart']>) {
      await new Promise((resolve) => setImmediate(resolve));
      return super.writePart(...args);
    }
  }

  /** The session writes each PATCH makes (lease, checkpoints, final save), and the finished blob's digest check. */
  async function sessionWritesPerPatch(sizes: number[]): Promise<number[]> {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-boundary-'));
    try {
      let writes = 0;
      const metadata = new FsMetadataStore(dir, { fsync: false });
      await metadata.init();
      const updateUpload = metadata.updateUpload.bind(metadata);
      metadata.updateUpload = (session, version) => {
        writes++;
        return updateUpload(session, version);
      };
      const store = new NetworkedStore(MIN, PART);
      const registry = createRegistry({ blobs: store, metadata, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(1), blobRedirectSeconds: 0 } });
      const client = new RegistryClient(registry.fetch);
      const bytes = seededArray(7, sizes.reduce((a, b) => a + b, 0));
      let location = await client.startUpload('prop/boundary');
      let offset = 0;
      const perPatch: number[] = [];
      for (const size of sizes) {
        const before = writes;
        const response = await client.send('PATCH', location, { body: bytes.subarray(offset, offset + size), headers: { 'Content-Range': `${offset}-${offset + size - 1}` } });
        expect(response.status, await bodyText(response)).toBe(202);
        perPatch.push(writes - before);
        offset += size;
        location = response.headers.get('location')!;
      }
      const put = await client.send('PUT', withQuery(location, { digest: sha256(bytes) }));
      expect(put.status, await bodyText(put)).toBe(201);
      return perPatch;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('saves the session once after a part the body ended with, as after a shorter last part', async () => {
    // Staged tail (lease + save), then tail + chunk = exactly one part (lease + save, no checkpoint).
    expect(await sessionWritesPerPatch([800, 800])).toEqual([2, 2]);
    // The same request ending past the boundary: a remainder is staged after the part, so the part is checkpointed first.
    expect(await sessionWritesPerPatch([800, 900])).toEqual([2, 3]);
    // Two whole parts in one body: the first is checkpointed, the second is the body's end.
    expect(await sessionWritesPerPatch([2 * PART])).toEqual([3]);
  });
});

describe('part arrays kept between requests', () => {
  /** Checks that no part's bytes change while the store is still reading them (a network write takes several turns). */
  class ReadingStore extends S3LikeStore {
    changed = 0;
    override async writePart(...args: Parameters<S3LikeStore['writePart']>) {
      const body = args[2] as Uint8Array;
      const before = sha256(body);
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      if (sha256(body) !== before) this.changed++;
      return super.writePart(...args);
    }
  }

  it('never reuses an array a store is still reading, with uploads running at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-part-arrays-'));
    try {
      const metadata = new FsMetadataStore(dir, { fsync: false });
      await metadata.init();
      const store = new ReadingStore(1000, 1600);
      const registry = createRegistry({ blobs: store, metadata, hashing: wasmHashing, config: { uploadSecret: new Uint8Array(32).fill(1), blobRedirectSeconds: 0 } });
      const client = new RegistryClient(registry.fetch);
      const push = async (seed: number) => {
        // Chunks that never fill a part alone: every part is joined from a tail and a chunk, or from several chunks.
        const sizes = [700, 1300, 2500, 900, 3300];
        const bytes = seededArray(seed, sizes.reduce((a, b) => a + b, 0));
        let location = await client.startUpload(`arrays/app${seed}`);
        let offset = 0;
        for (const size of sizes) {
          const response = await client.send('PATCH', location, { body: bytes.subarray(offset, offset + size), headers: { 'Content-Range': `${offset}-${offset + size - 1}` } });
          expect(response.status, await bodyText(response)).toBe(202);
          offset += size;
          location = response.headers.get('location')!;
        }
        const put = await client.send('PUT', withQuery(location, { digest: sha256(bytes) }));
        expect(put.status, await bodyText(put)).toBe(201);
        const get = await client.send('GET', `/v2/arrays/app${seed}/blobs/${sha256(bytes)}`);
        expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(sha256(bytes));
      };
      await Promise.all([1, 2, 3, 4].map(push));
      expect(store.partWrites).toBeGreaterThan(8);
      expect(store.changed).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
