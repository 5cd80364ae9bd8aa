import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import { StoreInUseError } from '../../functions/core/index';
import { imageOf, linkedBlob, uniqueName } from '../contract/metadata-helpers';

/**
 * What a crash of `npm start` can leave of a manifest put or delete on disk: reference files
 * whose manifest record was never written (crash during a put) or is already removed (crash
 * during a delete). Either way the manifest is not served, and the leftovers do not hold.
 */
describe('filesystem store after a crash mid-put or mid-delete', () => {
  let dir: string;
  let store: FsMetadataStore;
  let layout: DataLayout;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-crash-refs-'));
    store = new FsMetadataStore(dir, { fsync: false });
    await store.init();
    layout = new DataLayout(dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('ignores and removes reference files of a manifest whose record was never written', async () => {
    const repo = uniqueName('crash-put');
    const blob = await linkedBlob(store, repo);
    const { manifest } = imageOf([blob]);
    const leftover = layout.reference(repo, 'blobs', blob, manifest.digest);
    await mkdir(dirname(leftover), { recursive: true });
    await writeFile(leftover, '');
    expect(await store.getManifest(repo, manifest.digest)).toBeUndefined();
    expect(await store.unlinkBlob(repo, blob)).toBe(true);
  });

  it('ignores reference files of a manifest whose record is already removed, and a re-push holds again', async () => {
    const repo = uniqueName('crash-delete');
    const blob = await linkedBlob(store, repo);
    const image = imageOf([blob]);
    await store.putManifest(repo, image.manifest, image.references);
    await expect(store.unlinkBlob(repo, blob)).rejects.toBeInstanceOf(StoreInUseError);
    // A delete that crashed after making the manifest invisible: its record and body are gone.
    await rm(layout.manifestRecord(repo, image.manifest.digest));
    await rm(layout.manifestBody(repo, image.manifest.digest));
    expect(await store.getManifest(repo, image.manifest.digest)).toBeUndefined();
    expect(await store.unlinkBlob(repo, blob)).toBe(true);
    await store.linkBlob(repo, blob);
    await store.putManifest(repo, image.manifest, image.references, 'again');
    await expect(store.unlinkBlob(repo, blob)).rejects.toMatchObject({ holder: image.manifest.digest });
    expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
    expect(await store.unlinkBlob(repo, blob)).toBe(true);
  });
});
