import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RegistryClient, bodyText, streamBody, uniqueRepo, withQuery } from '../api/client';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { seededArray } from '../../harness/image/seeded-bytes';
import { awsRegistry, sha256OfStream, type AwsRegistryFixture } from './fixture';

const MiB = 1024 * 1024;

let emulators: AwsEmulators;
/** Registries by S3 part size: 5 MiB (cut at the minimum) and 6 MiB. */
const registries = new Map<number, AwsRegistryFixture>();
beforeAll(async () => {
  emulators = await startAwsEmulators();
  for (const partSize of [5 * MiB, 6 * MiB]) registries.set(partSize, await awsRegistry(emulators, { blobRedirectSeconds: 0 }, { partSize }));
});
afterAll(async () => emulators?.stop());

/** Chunk sizes from 1 B to 6 MiB, weighted toward the edges around S3's 5 MiB part floor. */
const chunkSize = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 64 * 1024 }) },
  { weight: 3, arbitrary: fc.integer({ min: 64 * 1024, max: 6 * MiB }) },
  { weight: 2, arbitrary: fc.constantFrom(5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 6 * MiB) },
);

const scenario = fc.record({
  /** Each chunk's size and the seed of its bytes: fast-check draws both, so a failure replays and shrinks. */
  chunks: fc.array(fc.record({ size: chunkSize, seed: fc.nat() }), { minLength: 1, maxLength: 6 }),
  /** Send the last chunk in the PUT that commits, instead of a PATCH. */
  lastInPut: fc.boolean(),
  /** Stream bodies without Content-Length (docker) instead of sized ones (skopeo). */
  streamed: fc.boolean(),
  partSize: fc.constantFrom(5 * MiB, 6 * MiB),
});

it('turns any chunk sequence into a valid S3 multipart upload with the right digest', async () => {
  await fc.assert(fc.asyncProperty(scenario, async ({ chunks: drawn, lastInPut, streamed, partSize }) => {
    const fixture = registries.get(partSize)!;
    const client = new RegistryClient(fixture.registry.fetch);
    const chunks = drawn.map(({ size, seed }) => seededArray(seed, size));
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(chunk);
    const digest = `sha256:${hash.digest('hex')}`;
    const body = (chunk: Uint8Array<ArrayBuffer>): BodyInit => (streamed ? streamBody(chunk, 256 * 1024) : chunk);

    let location = await client.startUpload(uniqueRepo('prop'));
    const patched = lastInPut ? chunks.slice(0, -1) : chunks;
    for (const chunk of patched) {
      const response = await client.send('PATCH', location, { body: body(chunk) });
      expect(response.status, await bodyText(response)).toBe(202);
      location = response.headers.get('location')!;
    }
    const last = lastInPut ? chunks.at(-1) : undefined;
    const put = await client.send('PUT', withQuery(location, { digest }), last ? { body: body(last) } : {});
    expect(put.status, await bodyText(put)).toBe(201);

    // The object S3 assembled holds exactly the pushed bytes.
    const record = await fixture.stores.metadata.getBlob(digest);
    const stored = await fixture.stores.blobs.read(record!.location);
    expect(await sha256OfStream(stored.body)).toEqual({ digest, size: drawn.reduce((total, chunk) => total + chunk.size, 0) });
    // Keep the emulator's memory flat across runs.
    await fixture.stores.blobs.delete(record!.location);
    await fixture.stores.metadata.deleteBlob(digest);
  }), { numRuns: 40 });

  const failures = [...registries.values()].flatMap((fixture) => fixture.calls.filter((call) => call.error));
  expect(failures).toEqual([]);
  // The property exercised multipart uploads, not just single-part ones.
  const calls = [...registries.values()].flatMap((fixture) => fixture.calls.map((call) => call.command));
  expect(calls.filter((command) => command === 'UploadPartCommand').length).toBeGreaterThan(40);
}, 170_000);
