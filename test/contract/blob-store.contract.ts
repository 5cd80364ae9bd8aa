import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreNotFoundError, type BlobStore, type ByteSource, type PartRecord, type UploadRef } from '../../functions/core/index';

/**
 * The behaviour every BlobStore must have. Run it from a test file per implementation:
 *   blobStoreContract('fs', async () => ({ store, cleanup }))
 */
export interface BlobStoreFixture {
  store: BlobStore;
  /**
   * What this store can do that others may not, declared by the fixture so the tests check
   * it: a store that should read back uploads (or presign) cannot pass by answering undefined.
   */
  capabilities: { readsUploads: boolean; presigns: boolean };
  cleanup(): Promise<void>;
}

export function blobStoreContract(name: string, create: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    beforeAll(async () => {
      fixture = await create();
      store = fixture.store;
    });
    afterAll(async () => fixture?.cleanup());

    /** A part size the store accepts for non-last parts. */
    const partSize = () => Math.max(store.partPolicy.minPartSize, 64 * 1024);
    const body = (bytes: Uint8Array): ByteSource | Uint8Array => (store.partPolicy.minPartSize === 0 ? streamOf(bytes, 7000) : bytes);

    async function upload(parts: Uint8Array[]): Promise<{ ref: UploadRef; records: PartRecord[]; bytes: Uint8Array }> {
      const id = crypto.randomUUID();
      const ref = { id, handle: await store.createUpload(id) };
      const records: PartRecord[] = [];
      let offset = 0;
      for (const [index, part] of parts.entries()) {
        records.push(await store.writePart(ref, { number: index + 1, offset }, body(part)));
        offset += part.byteLength;
      }
      return { ref, records, bytes: new Uint8Array(Buffer.concat(parts)) };
    }

    async function complete(parts: Uint8Array[]) {
      const { ref, records, bytes } = await upload(parts);
      const digest = sha256(bytes);
      const location = await store.completeUpload(ref, records, bytes.byteLength, digest);
      return { location, bytes, digest };
    }

    it('declares a usable part policy', () => {
      const { minPartSize, partSize: cut, maxParts } = store.partPolicy;
      expect(minPartSize).toBeGreaterThanOrEqual(0);
      expect(cut).toBeGreaterThanOrEqual(Math.max(minPartSize, 1));
      expect(maxParts).toBeGreaterThanOrEqual(1000);
    });

    it('writes parts, reports their sizes, and completes them into one readable blob', async () => {
      const parts = [rand(partSize()), rand(partSize()), rand(1234)];
      const { records } = await upload(parts).then(async (u) => {
        expect(u.records.map((r) => r.size)).toEqual(parts.map((p) => p.byteLength));
        expect(u.records.map((r) => r.number)).toEqual([1, 2, 3]);
        return u;
      });
      expect(records).toHaveLength(3);
      const { location, bytes } = await complete(parts);
      expectSameBytes(await readAll(store, location), bytes);
    });

    it('reads a byte range of a finished blob', async () => {
      const { location, bytes } = await complete([rand(5000)]);
      const result = await store.read(location, { start: 100, end: 199 });
      expect(result.length).toBe(100);
      expect(await collect(result.body)).toEqual(bytes.subarray(100, 200));
      const tail = await store.read(location, { start: 4999, end: 4999 });
      expect(await collect(tail.body)).toEqual(bytes.subarray(4999));
    });

    it('completes a zero-byte blob with no parts', async () => {
      const id = crypto.randomUUID();
      const ref = { id, handle: await store.createUpload(id) };
      const location = await store.completeUpload(ref, [], 0, sha256(new Uint8Array(0)));
      const result = await store.read(location);
      expect(result.length).toBe(0);
      expect(await collect(result.body)).toEqual(new Uint8Array(0));
    });

    it('replaces a part written again under the same number (a retry)', async () => {
      const id = crypto.randomUUID();
      const ref = { id, handle: await store.createUpload(id) };
      const first = rand(partSize());
      await store.writePart(ref, { number: 1, offset: 0 }, body(rand(partSize())));
      const p1 = await store.writePart(ref, { number: 1, offset: 0 }, body(first));
      const last = rand(10);
      const p2 = await store.writePart(ref, { number: 2, offset: first.byteLength }, body(last));
      const bytes = new Uint8Array(Buffer.concat([first, last]));
      const location = await store.completeUpload(ref, [p1, p2], bytes.byteLength, sha256(bytes));
      expectSameBytes(await readAll(store, location), bytes);
    });

    it('keeps, returns and deletes staged bytes', async () => {
      const id = crypto.randomUUID();
      const ref = { id, handle: await store.createUpload(id) };
      const staged = rand(3000);
      await store.putStaged(ref, `${id}.1`, staged);
      expectSameBytes(await store.getStaged(ref, `${id}.1`), staged);
      await store.deleteStaged(ref, `${id}.1`);
      await expect(store.getStaged(ref, `${id}.1`)).rejects.toBeInstanceOf(StoreNotFoundError);
      await store.deleteStaged(ref, `${id}.1`); // idempotent
      await store.abortUpload(ref);
    });

    it('reads back an unfinished upload, or says it cannot', async () => {
      const parts = [rand(partSize()), rand(77)];
      const { ref, records, bytes } = await upload(parts);
      const source = await store.readUpload(ref, records, bytes.byteLength);
      if (fixture.capabilities.readsUploads) expectSameBytes(await collect(source!), bytes);
      else expect(source).toBeUndefined();
      await store.abortUpload(ref);
    });

    it('aborts uploads idempotently', async () => {
      const { ref } = await upload([rand(100)]);
      await store.abortUpload(ref);
      await store.abortUpload(ref);
    });

    it('gives identical content from two uploads of the same digest', async () => {
      const bytes = rand(partSize() + 10);
      const parts = [bytes.subarray(0, partSize()), bytes.subarray(partSize())];
      const [a, b] = await Promise.all([complete(parts), complete(parts)]);
      expectSameBytes(await readAll(store, a.location), bytes);
      expectSameBytes(await readAll(store, b.location), bytes);
    });

    it('deletes blobs idempotently, after which reads fail as not found', async () => {
      const { location } = await complete([rand(100)]);
      await store.delete(location);
      await store.delete(location);
      await expect(store.read(location)).rejects.toBeInstanceOf(StoreNotFoundError);
    });

    it('presigns GET and HEAD separately, or serves bytes itself', async () => {
      const { location, bytes, digest } = await complete([rand(4096)]);
      const get = await store.presign(location, { method: 'GET', expiresInSeconds: 60, digest });
      const head = await store.presign(location, { method: 'HEAD', expiresInSeconds: 60, digest });
      if (!fixture.capabilities.presigns) {
        expect([get, head]).toEqual([undefined, undefined]);
        return;
      }
      expect(get).toBeTypeOf('string');
      expect(head).toBeTypeOf('string');
      expect(head).not.toBe(get);
      const full = await fetch(get!);
      expect(full.status).toBe(200);
      expect(new Uint8Array(await full.arrayBuffer())).toEqual(new Uint8Array(bytes));
      const ranged = await fetch(get!, { headers: { Range: 'bytes=10-19' } });
      expect(ranged.status).toBe(206);
      expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(new Uint8Array(bytes.subarray(10, 20)));
      const headResponse = await fetch(head!, { method: 'HEAD' });
      expect(headResponse.status).toBe(200);
      expect(headResponse.headers.get('content-length')).toBe(String(bytes.byteLength));
    });
  });
}

/** Random bytes as a plain Uint8Array, so equality checks compare like with like. */
export function rand(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function* streamOf(bytes: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += chunk) yield bytes.subarray(at, Math.min(at + chunk, bytes.byteLength));
}

export async function collect(source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Element-wise toEqual takes tens of seconds on multi-MiB arrays; compare buffers instead. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))).toBe(true);
}

async function readAll(store: BlobStore, location: string): Promise<Uint8Array> {
  const result = await store.read(location);
  const bytes = await collect(result.body);
  expect(bytes.byteLength).toBe(result.length);
  return bytes;
}
