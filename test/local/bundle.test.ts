import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedUrl } from '../../functions/adapters/node/logger';
import { Skopeo } from '../../harness/clients/skopeo';
import { buildOciImage, KiB } from '../../harness/oci-image';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { exitCode, ROOT } from './local-server';

/**
 * `npm run build`'s bundle runs on node alone: copied into a directory with no node_modules
 * anywhere above it, started with `node`, it serves skopeo's push and pull.
 */
describe('the bundled server (npm run build)', () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-bundle-'));
    const build = spawn(process.execPath, [join(ROOT, 'tools/build/server.mjs'), join(dir, 'app', 'nimbus-server.mjs')], { stdio: 'inherit' });
    expect(await exitCode(build)).toBe(0);
    server = new ServerProcess('bundled nimbus', process.execPath, [join(dir, 'app', 'nimbus-server.mjs')], {
      cwd: join(dir, 'app'),
      log: new LogBuffer(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_FSYNC: 'off' },
    });
    url = await server.waitForLine((line) => loggedUrl(line, 'nimbus registry listening'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is one file (plus its source map and licences) that serves skopeo push and pull', async () => {
    expect((await readdir(join(dir, 'app'))).sort()).toEqual(['nimbus-server.mjs', 'nimbus-server.mjs.LEGAL.txt', 'nimbus-server.mjs.map']);
    const image = await buildOciImage(join(dir, 'layout'), { seed: 'bundle', layerSizes: [16 * KiB, 256 * KiB] }, 'v1');
    const skopeo = await Skopeo.create(join(dir, 'skopeo'));
    const reference = `docker://${new URL(url).host}/bundle/app:v1`;
    expect(await skopeo.copy(`oci:${image.layoutDir}:v1`, reference, { preserveDigests: true })).toBe(image.manifest.digest);
    expect(await skopeo.copy(reference, `oci:${join(dir, 'pulled')}:v1`, { preserveDigests: true })).toBe(image.manifest.digest);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
