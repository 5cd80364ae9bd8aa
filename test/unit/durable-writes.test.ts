import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySyncs, nodeFs, removeFile, writeFileAtomic, type DurableFs } from '../../functions/adapters/fs/atomic';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import type { UploadSession } from '../../functions/core/index';
import { loadOrCreateKey } from '../../functions/adapters/fs/key-file';
import { sha256 } from '../api/client';

/**
 * NIMBUS_FSYNC=on promises that an answered write survives a power loss. A rename is only
 * on disk once its directory is flushed; these tests record the file operations (real ones,
 * on a temp dir) and check the order: file flushed, renamed, directory flushed.
 */

/** node:fs, recording "sync <path>", "rename <from> -> <to>", "mkdir <path>" and "rm <path>" as they happen. */
function recordingFs(root: string): { fs: DurableFs; ops: string[] } {
  const ops: string[] = [];
  const rel = (path: string) => path.slice(root.length + 1) || '.';
  const fs: DurableFs = {
    async open(path, flags, mode) {
      const handle = await nodeFs.open(path, flags, mode);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        await sync();
        ops.push(`sync ${rel(path)}`);
      };
      return handle;
    },
    async rename(from, to) {
      await nodeFs.rename(from, to);
      ops.push(`rename ${from.startsWith(join(root, 'tmp')) ? 'tmp' : rel(from)} -> ${rel(to)}`);
    },
    async mkdir(path, options) {
      const first = await nodeFs.mkdir(path, options);
      if (first !== undefined) ops.push(`mkdir ${rel(path)}`);
      return first;
    },
    async rm(path) {
      await nodeFs.rm(path);
      ops.push(`rm ${rel(path)}`);
    },
  };
  return { fs, ops };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nimbus-durable-'));
  await mkdir(join(root, 'tmp'));
  await mkdir(join(root, 'a'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const fileSyncs = (ops: string[]) => ops.filter((op) => /^sync tmp\/./.test(op));

describe('writeFileAtomic', () => {
  it('flushes the file, renames it, then flushes the directory it landed in', async () => {
    const { fs, ops } = recordingFs(root);
    await writeFileAtomic(join(root, 'tmp'), join(root, 'a', 'file'), 'content', { fsync: true, fs });
    expect(ops.map((op) => op.replace(/^sync tmp\/.*/, 'sync the temp file'))).toEqual(['sync the temp file', 'rename tmp -> a/file', 'sync a']);
    expect(await readFile(join(root, 'a', 'file'), 'utf8')).toBe('content');
  });

  it('also flushes the parent of every directory it had to create', async () => {
    const { fs, ops } = recordingFs(root);
    await writeFileAtomic(join(root, 'tmp'), join(root, 'a', 'b', 'c', 'file'), 'x', { fsync: true, fs });
    const after = ops.slice(ops.indexOf('rename tmp -> a/b/c/file') + 1);
    expect(after.sort()).toEqual(['sync a', 'sync a/b', 'sync a/b/c']);
  });

  it('flushes nothing with fsync off, and only the file for an upload checkpoint', async () => {
    const off = recordingFs(root);
    await writeFileAtomic(join(root, 'tmp'), join(root, 'a', 'off'), 'x', { fsync: false, fs: off.fs });
    expect(off.ops.filter((op) => op.startsWith('sync'))).toEqual([]);
    const checkpoint = recordingFs(root);
    await writeFileAtomic(join(root, 'tmp'), join(root, 'a', 'session'), 'x', { fsync: true, checkpoint: true, fs: checkpoint.fs });
    expect(checkpoint.ops.filter((op) => op.startsWith('sync'))).toEqual(fileSyncs(checkpoint.ops));
    expect(fileSyncs(checkpoint.ops)).toHaveLength(1);
  });

  it('defers directory flushes to a batch: one per directory, when the batch is flushed', async () => {
    const { fs, ops } = recordingFs(root);
    const syncs = new DirectorySyncs(fs);
    for (const name of ['one', 'two', 'three']) await writeFileAtomic(join(root, 'tmp'), join(root, 'a', name), name, { fsync: true, fs, syncs });
    expect(ops.filter((op) => op === 'sync a')).toEqual([]);
    await syncs.flush();
    expect(ops.filter((op) => op === 'sync a')).toEqual(['sync a']);
    expect(ops.at(-1)).toBe('sync a');
  });

  it('flushes the directory after a removal', async () => {
    await writeFileAtomic(join(root, 'tmp'), join(root, 'a', 'gone'), 'x', { fsync: false });
    const { fs, ops } = recordingFs(root);
    expect(await removeFile(join(root, 'a', 'gone'), { fsync: true, fs })).toBe(true);
    expect(ops).toEqual(['rm a/gone', 'sync a']);
  });
});

describe('the fs stores under NIMBUS_FSYNC=on', () => {
  it('commits a blob by renaming its upload file into blobs/ and flushing every directory that changed', async () => {
    const { fs, ops } = recordingFs(root);
    const blobs = new FsBlobStore(root, { fsync: true, fs });
    await blobs.init();
    const bytes = new TextEncoder().encode('blob bytes');
    await blobs.createUpload('u1');
    await blobs.writePart({ id: 'u1', handle: '' }, { number: 1, offset: 0 }, bytes);
    const digest = sha256(bytes);
    const location = await blobs.completeUpload({ id: 'u1', handle: '' }, [], bytes.byteLength, digest);
    const blobDir = join('blobs', 'sha256', digest.slice(7, 9));
    const renamed = ops.indexOf(`rename uploads/u1/data -> ${blobDir}/${digest.slice(7)}`);
    expect(renamed).toBeGreaterThanOrEqual(0);
    // The blob's directory, and the data dir, blobs/ and blobs/sha256/ where the first blob's directories were made.
    expect(ops.slice(renamed + 1).filter((op) => op.startsWith('sync')).sort()).toEqual(['sync .', 'sync blobs', 'sync blobs/sha256', `sync ${blobDir}`]);
    expect(location).toBe(`${blobDir}/${digest.slice(7)}`);
  });

  it('flushes a manifest\'s directory once for its body and record, and before its tag is written', async () => {
    const { fs, ops } = recordingFs(root);
    const metadata = new FsMetadataStore(root, { fsync: true, fs });
    await metadata.init();
    const body = new TextEncoder().encode('{"schemaVersion":2}');
    const digest = sha256(body);
    await metadata.putManifest('team/app', { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.byteLength, body, createdAt: 1 }, { blobs: [], manifests: [] }, 'v1');
    const layout = new DataLayout(root);
    const manifests = layout.manifestRecord('team/app', digest).slice(root.length + 1).replace(/\/[^/]+$/, '');
    const tags = layout.tags('team/app').slice(root.length + 1);
    expect(ops.filter((op) => op === `sync ${manifests}`)).toHaveLength(1);
    const tagged = ops.findIndex((op) => op.startsWith(`rename tmp -> ${tags}/`));
    expect(ops.indexOf(`sync ${manifests}`)).toBeLessThan(tagged);
    expect(ops.slice(tagged)).toContain(`sync ${tags}`);
  });

  it('checkpoints upload sessions without flushing their directory (the upload hot path)', async () => {
    const { fs, ops } = recordingFs(root);
    const metadata = new FsMetadataStore(root, { fsync: true, fs });
    await metadata.init();
    const session: UploadSession = { id: 'u1', repository: 'r', handle: '', offset: 0, parts: [], hashState: '', hashAlgorithm: 'sha256', version: 1, createdAt: 1, updatedAt: 1, expiresAt: 2 };
    await metadata.createUpload(session);
    await metadata.updateUpload({ ...session, offset: 10, version: 2 }, 1);
    expect(ops.filter((op) => op.startsWith('sync'))).toEqual(fileSyncs(ops));
    expect(fileSyncs(ops)).toHaveLength(2);
  });
});

describe('key files', () => {
  it('are created whole with mode 0600, and an empty one left by a crash is replaced', async () => {
    const path = join(root, 'a', 'token-signing.key');
    const key = await loadOrCreateKey(path);
    expect(key.byteLength).toBe(32);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateKey(path)).toEqual(key);
    await rm(path);
    await writeFileAtomic(join(root, 'tmp'), path, '', { fsync: false });
    const replaced = await loadOrCreateKey(path);
    expect(replaced.byteLength).toBe(32);
    expect(new Uint8Array(await readFile(path))).toEqual(replaced);
  });

  it('agree on one key when many processes create it at once', async () => {
    const path = join(root, 'a', 'upload-hmac.key');
    const keys = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateKey(path)));
    for (const key of keys) expect(key).toEqual(new Uint8Array(await readFile(path)));
  });
});
