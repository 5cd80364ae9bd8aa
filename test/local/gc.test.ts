import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GcTestClient, testBlob, testImage, type TestImage } from '../support/gc-images';
import { runNimbus } from '../support/nimbus-cli';
import { exitCode, start, type Started } from './local-server';

// Acceptance (issue 12): on npm start, push 20 images sharing layers, delete 10, run
// `npx nimbus gc --min-age 0` while the server serves: every blob file the 10 survivors do
// not use is gone from disk, and the survivors pull back byte for byte.
let dataDir: string;
let server: Started;
let client: GcTestClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-gc-local-'));
  server = await start({ NIMBUS_DATA_DIR: dataDir, PORT: '0', NIMBUS_FSYNC: 'off', NIMBUS_GC_INTERVAL: '0', NIMBUS_LOG_LEVEL: 'warn' });
  client = new GcTestClient((request) => fetch(request), server.url);
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  if (server) await exitCode(server.child);
  await rm(dataDir, { recursive: true, force: true });
});

/** Every blob file under <data>/blobs, as digests. */
async function blobFiles(): Promise<string[]> {
  const root = join(dataDir, 'blobs');
  const found: string[] = [];
  for (const alg of await readdir(root)) {
    for (const hh of await readdir(join(root, alg))) {
      for (const hex of await readdir(join(root, alg, hh))) found.push(`${alg}:${hex}`);
    }
  }
  return found.sort();
}

it('frees every byte the surviving images do not use, through the running server, and keeps them whole', async () => {
  const base = [testBlob(64 * 1024), testBlob(32 * 1024), testBlob(16 * 1024)];
  const images: TestImage[] = [];
  for (let i = 0; i < 20; i++) {
    // Every image shares one base layer with all, one with half, and has a config and a layer of its own.
    const repository = `team/app-${i % 4}`;
    images.push(testImage(repository, `v${i}`, [testBlob(600), base[0]!, base[1 + (i % 2)]!, testBlob(8 * 1024 + i)]));
  }
  for (const image of images) expect(await client.pushImage(image, 1)).toBe(true);
  const [deleted, survivors] = [images.filter((_, i) => i % 2 === 1), images.filter((_, i) => i % 2 === 0)];
  for (const image of deleted) expect(await client.deleteManifest(image.repository, image.digest)).toBe(202);

  // While the server serves: a pull of a survivor runs during the pass.
  const [run, pulled] = await Promise.all([
    runNimbus(['gc', '--min-age', '0'], { env: { NIMBUS_DATA_DIR: dataDir } }),
    client.pullDifference(survivors[0]!),
  ]);
  expect(run.code, run.stderr).toBe(0);
  expect(pulled).toBeUndefined();
  // It went through the server (it holds the data dir), which it found at <data>/.url.
  expect(run.stdout).toContain(`Garbage collection on ${new URL(server.url).origin}`);
  expect(run.stdout).toMatch(/freed \d+(\.\d)? (B|KiB|MiB)/);

  const kept = [...new Set(survivors.flatMap((image) => image.blobs.map((blob) => blob.digest)))].sort();
  expect(await blobFiles()).toEqual(kept);
  for (const image of survivors) expect(await client.pullDifference(image)).toBeUndefined();

  // The report: a second pass finds nothing more, and --json prints it whole.
  const again = await runNimbus(['gc', '--min-age', '0', '--json'], { env: { NIMBUS_DATA_DIR: dataDir } });
  expect(again.code, again.stderr).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ dryRun: false, complete: true, blobsDeleted: 0 });
});
