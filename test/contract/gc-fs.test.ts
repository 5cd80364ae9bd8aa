import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGc } from '../../functions/core/gc/runner';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import { describeGcContract, manualClock } from './gc.contract';

describeGcContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-gc-'));
  const clock = manualClock();
  const blobs = new FsBlobStore(dir, { fsync: false });
  const metadata = new FsMetadataStore(dir, { fsync: false, clock });
  await Promise.all([blobs.init(), metadata.init()]);
  const locks = new KeyedMutex();
  const layout = new DataLayout(dir);
  return {
    gc: new FsGcStore(dir, { metadata, locks, fsync: false }),
    metadata,
    blobs,
    clock,
    blobLocks: locks,
    bytesExist: async (digest) => (await stat(layout.blob(digest)).catch(() => undefined)) !== undefined,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('fs GcStore: leftovers on disk', () => {
  it('removes orphaned blob files and session-less upload directories only when old, orphans only in full passes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-gc-'));
    try {
      const clock = manualClock();
      const metadata = new FsMetadataStore(dir, { fsync: false, clock });
      await metadata.init();
      const gc = new FsGcStore(dir, { metadata, locks: new KeyedMutex(), fsync: false });
      const layout = new DataLayout(dir);
      const write = async (path: string, bytes: number, ageMs: number) => {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, new Uint8Array(bytes));
        const when = new Date(Date.now() - ageMs);
        await utimes(path, when, when);
        if (path.includes('/uploads/')) await utimes(dirname(path), when, when);
      };
      const digest = (fill: string) => `sha256:${fill.repeat(64)}`;
      await write(layout.blob(digest('a')), 100, 2 * 3_600_000);
      await write(layout.blob(digest('b')), 50, 60_000);
      await write(layout.uploadData('crashed-upload'), 70, 2 * 3_600_000);
      await write(layout.uploadData('new-upload'), 70, 60_000);
      const deps = { gc, metadata, clock };

      const incremental = await runGc(deps, { minAgeMs: 30 * 60_000 });
      expect(incremental).toMatchObject({ orphansDeleted: 0, uploadsSwept: 1, uploadBytesFreed: 70 });
      expect(existsSync(layout.upload('crashed-upload'))).toBe(false);
      expect(existsSync(layout.upload('new-upload'))).toBe(true);

      const dry = await runGc(deps, { minAgeMs: 30 * 60_000, full: true, dryRun: true });
      expect(dry).toMatchObject({ orphansDeleted: 1, orphanBytesFreed: 100 });
      expect(existsSync(layout.blob(digest('a')))).toBe(true);
      const full = await runGc(deps, { minAgeMs: 30 * 60_000, full: true });
      expect(full).toMatchObject({ orphansDeleted: 1, orphanBytesFreed: 100 });
      expect(existsSync(layout.blob(digest('a')))).toBe(false);
      expect(existsSync(layout.blob(digest('b')))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fs GcStore: manifests stored before references were recorded', () => {
  it('collects nothing linked in a repository holding one, since what it uses is unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-gc-'));
    try {
      const clock = manualClock();
      const metadata = new FsMetadataStore(dir, { fsync: false, clock });
      await metadata.init();
      const gc = new FsGcStore(dir, { metadata, locks: new KeyedMutex(), fsync: false });
      const layout = new DataLayout(dir);
      const digest = `sha256:${'c'.repeat(64)}`;
      await mkdir(dirname(layout.blob(digest)), { recursive: true });
      await writeFile(layout.blob(digest), 'bytes');
      await metadata.putBlob({ digest, size: 5, location: layout.blobLocation(digest), createdAt: clock.now() });
      await metadata.linkBlob('old/app', digest);
      // As an older version wrote it: a record without `references`.
      const legacy = `sha256:${'d'.repeat(64)}`;
      await mkdir(dirname(layout.manifestRecord('old/app', legacy)), { recursive: true });
      await writeFile(layout.manifestRecord('old/app', legacy), JSON.stringify({ digest: legacy, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 2, createdAt: 1 }));
      clock.advance(3_600_000);
      expect(await gc.collectBlob(digest, clock.now() - 1)).toEqual({ state: 'referenced' });
      expect(existsSync(layout.blob(digest))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
