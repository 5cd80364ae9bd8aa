import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GcTestClient } from '../support/gc-images';
import { stressGc } from '../support/gc-stress';
import { exitCode, start, type Started } from './local-server';

// Issue 12: concurrent push, delete and GC (zero safety window) for 60 s against npm start
// lose nothing that was pushed and kept: every surviving image pulls back byte for byte.
const RUN_MS = 60_000;

let dataDir: string;
let server: Started;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-gc-stress-'));
  server = await start({ NIMBUS_DATA_DIR: dataDir, PORT: '0', NIMBUS_FSYNC: 'off', NIMBUS_GC_INTERVAL: '0', NIMBUS_LOG_LEVEL: 'warn' });
});

afterAll(async () => {
  server?.child.kill('SIGTERM');
  if (server) await exitCode(server.child);
  await rm(dataDir, { recursive: true, force: true });
});

/** The digests whose bytes are under <data>/blobs. */
async function blobFiles(): Promise<string[]> {
  const root = join(dataDir, 'blobs');
  const found: string[] = [];
  for (const alg of await readdir(root)) {
    for (const hh of await readdir(join(root, alg))) for (const hex of await readdir(join(root, alg, hh))) found.push(`${alg}:${hex}`);
  }
  return found.sort();
}

it('loses nothing pushed and kept while pushes, deletes and collections run together for 60 s', { timeout: 3 * RUN_MS + 90_000 }, async () => {
  const client = new GcTestClient((request) => fetch(request), server.url);
  await stressGc({
    client,
    async gcPass(full) {
      const response = await client.send('POST', `/v2/_nimbus/gc?minAge=0${full ? '&full=1' : ''}`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { blobsDeleted: number }).blobsDeleted;
    },
    async expectStoredExactly(digests) {
      expect(await blobFiles()).toEqual([...digests].sort());
    },
  }, RUN_MS);
});
