import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import { createRegistry } from '../../functions/core/index';
import { GcTestClient, testBlob } from '../support/gc-images';
import { runNimbus, type Run } from '../support/nimbus-cli';
import { exitCode, start } from '../local/local-server';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-gc-cli-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

function nimbus(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return runNimbus(args, { env: { NIMBUS_DATA_DIR: dataDir, ...env }, ...(input !== undefined ? { input } : {}) });
}

const exists = async (path: string) => (await stat(path).catch(() => undefined)) !== undefined;

describe('npx nimbus gc', () => {
  it('runs in-process under the data dir lock when no server uses it: dry run first, then for real', async () => {
    const blobs = new FsBlobStore(dataDir, { fsync: false });
    const metadata = new FsMetadataStore(dataDir, { fsync: false });
    await Promise.all([blobs.init(), metadata.init()]);
    const registry = createRegistry({ blobs, metadata, config: { uploadSecret: new Uint8Array(randomBytes(32)), blobRedirectSeconds: 0 } });
    const loose = testBlob(2048);
    expect(await new GcTestClient((request) => registry.fetch(request)).uploadBlob('team/app', loose)).toBe(201);
    const file = new DataLayout(dataDir).blob(loose.digest);

    const kept = await nimbus(['gc']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('(in-process)');
    expect(await exists(file)).toBe(true); // inside the 24 h window

    const dry = await nimbus(['gc', '--dry-run', '--min-age', '0']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Dry run on ${dataDir} (in-process): would free 2.0 KiB`);
    expect(dry.stdout).toContain(loose.digest);
    expect(await exists(file)).toBe(true);

    const real = await nimbus(['gc', '--min-age', '0', '--json']);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, blobsDeleted: 1, bytesFreed: 2048, deleted: [{ digest: loose.digest, size: 2048 }] });
    expect(await exists(file)).toBe(false);
    expect(await exists(join(dataDir, '.lock'))).toBe(false);
  });

  it('refuses a --min-age it cannot read, saying what it takes', async () => {
    const run = await nimbus(['gc', '--min-age', '3 weeks']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--min-age takes a duration like 0, 90s, 30m, 24h or 7d');
  });

  it('logs in to a server with auth on from NIMBUS_USERNAME/NIMBUS_PASSWORD, and says how when they are missing', async () => {
    expect((await nimbus(['user', 'add', 'root', '--password-stdin'], {}, 'password-1234\n')).code).toBe(0);
    expect((await nimbus(['grant', 'root', '**', 'pull,push,delete'])).code).toBe(0);
    expect((await nimbus(['user', 'add', 'dev', '--password-stdin'], {}, 'password-1234\n')).code).toBe(0);
    expect((await nimbus(['grant', 'dev', '**', 'pull,push'])).code).toBe(0);
    const server = await start({ NIMBUS_DATA_DIR: dataDir, PORT: '0', NIMBUS_FSYNC: 'off', NIMBUS_AUTH: 'on', NIMBUS_GC_INTERVAL: '0', NIMBUS_LOG_LEVEL: 'warn' });
    try {
      const anonymous = await nimbus(['gc']);
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toContain('set NIMBUS_USERNAME and NIMBUS_PASSWORD');
      const refused = await nimbus(['gc'], { NIMBUS_USERNAME: 'dev', NIMBUS_PASSWORD: 'password-1234' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('DENIED');
      const admin = await nimbus(['gc', '--json'], { NIMBUS_USERNAME: 'root', NIMBUS_PASSWORD: 'password-1234' });
      expect(admin.code, admin.stderr).toBe(0);
      expect(JSON.parse(admin.stdout)).toMatchObject({ dryRun: false, complete: true });
    } finally {
      server.child.kill('SIGTERM');
      await exitCode(server.child);
    }
    // Stopped: it took its URL file with it.
    expect(await exists(join(dataDir, '.url'))).toBe(false);
  });
});
