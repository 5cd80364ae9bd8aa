import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GcTestClient, testBlob, testImage, type TestBlob, type TestImage } from '../support/gc-images';
import { exitCode, start, type Started } from './local-server';

// Issue 12: concurrent push, delete and GC (zero safety window) for 60 s against npm start
// lose nothing that was pushed and kept: every surviving image pulls back byte for byte.
const RUN_MS = 60_000;
const PUSHERS = 3;

let dataDir: string;
let server: Started;
let client: GcTestClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-gc-stress-'));
  server = await start({ NIMBUS_DATA_DIR: dataDir, PORT: '0', NIMBUS_FSYNC: 'off', NIMBUS_GC_INTERVAL: '0', NIMBUS_LOG_LEVEL: 'warn' });
  client = new GcTestClient((request) => fetch(request), server.url);
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  if (server) await exitCode(server.child);
  await rm(dataDir, { recursive: true, force: true });
});

async function gcPass(query: string): Promise<{ blobsDeleted: number }> {
  const response = await client.send('POST', `/v2/_nimbus/gc?minAge=0${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { blobsDeleted: number };
}

async function blobFiles(): Promise<string[]> {
  const root = join(dataDir, 'blobs');
  const found: string[] = [];
  for (const alg of await readdir(root)) {
    for (const hh of await readdir(join(root, alg))) for (const hex of await readdir(join(root, alg, hh))) found.push(`${alg}:${hex}`);
  }
  return found.sort();
}

it('loses nothing pushed and kept while pushes, deletes and collections run together for 60 s', { timeout: RUN_MS + 90_000 }, async () => {
  const until = Date.now() + RUN_MS;
  // Layers many images share, so pushes keep re-using blobs the collector is looking at.
  const shared: TestBlob[] = Array.from({ length: 8 }, (_, i) => testBlob(4096 + i));
  const kept = new Map<string, TestImage>();
  const deletable: TestImage[] = [];
  const deletedImages: TestImage[] = [];
  let pushed = 0;
  let gaveUp = 0;
  let deleted = 0;
  let collected = 0;
  let passes = 0;

  const pusher = async (worker: number) => {
    for (let n = 0; Date.now() < until; n++) {
      const layers = [shared[(worker + n) % shared.length]!, shared[(n * 3) % shared.length]!];
      // Every third push brings back a deleted image, blobs and all: its blobs are exactly what
      // the collector is deleting, so uploads complete into digests being collected.
      const image = (n % 3 === 2 ? deletedImages.shift() : undefined)
        ?? testImage(`stress/w${worker}`, `t${n}`, [testBlob(300), ...new Set(layers), testBlob(2048)]);
      const ok = n % 2 === 0 ? await client.pushImage(image) : await client.pushImageSkippingExisting(image);
      // A push that keeps losing its blobs to zero-window passes gives up, as a client would
      // (rare): it was never stored, so nothing is owed. The invariant is about what was.
      if (!ok) {
        gaveUp++;
        continue;
      }
      pushed++;
      kept.set(image.digest, image);
      deletable.push(image);
    }
  };
  const deleter = async () => {
    while (Date.now() < until) {
      const image = deletable.splice(Math.floor(deletable.length / 3), 1)[0];
      if (!image) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      kept.delete(image.digest);
      expect(await client.deleteManifest(image.repository, image.digest)).toBe(202);
      deleted++;
      deletedImages.push(image);
    }
  };
  const collector = async () => {
    while (Date.now() < until) {
      collected += (await gcPass(passes % 5 === 4 ? '&full=1' : '')).blobsDeleted;
      passes++;
    }
  };
  await Promise.all([...Array.from({ length: PUSHERS }, (_, i) => pusher(i)), deleter(), collector()]);
  expect(pushed).toBeGreaterThan(20);
  expect(gaveUp).toBeLessThan(pushed);
  expect(deleted).toBeGreaterThan(5);
  expect(collected).toBeGreaterThan(0);
  expect(passes).toBeGreaterThan(5);

  for (const image of kept.values()) expect(await client.pullDifference(image)).toBeUndefined();
  // Quiet now: one more pass leaves on disk exactly the blobs the kept images use.
  // The cutoff lies just before a pass starts: start it once the clock has moved past the last push.
  const quietSince = Date.now();
  while (Date.now() <= quietSince) await new Promise((resolve) => setImmediate(resolve));
  await gcPass('&full=1');
  const used = [...new Set([...kept.values()].flatMap((image) => image.blobs.map((blob) => blob.digest)))].sort();
  expect(await blobFiles()).toEqual(used);
  for (const image of kept.values()) expect(await client.pullDifference(image)).toBeUndefined();
});
