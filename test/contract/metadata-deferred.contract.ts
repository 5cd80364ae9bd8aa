import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreInUseError, type MetadataStore } from '../../functions/core/index';
import { sha256 } from './blob-store.contract';
import { imageOf, indexOf, linkedBlob, uniqueName } from './metadata-helpers';

/** A blob record as a cache fill stores it (core/cache/blob-fill.ts): record, then link. */
async function fill(store: MetadataStore, repository: string, digest: string): Promise<void> {
  await store.putBlob({ digest, size: 16, location: `loc-${digest.slice(7, 19)}`, createdAt: 1 });
  await store.linkBlob(repository, digest);
}

const newDigest = () => sha256(randomBytes(16));

/**
 * Manifests stored with deferReferences (ports.ts PutManifestOptions): a pull-through cache stores
 * an upstream's manifest before the blobs and children it lists, fills them when clients ask, and
 * the manifest holds the blobs it lists, filled or not, like any other manifest's.
 */
export function metadataDeferredContract(name: string, setup: () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>): void {
  describe(`metadata store: deferred references (${name})`, () => {
    it('stores and tags a manifest whose blobs are not stored yet; they are not served until filled', async () => {
      const { store, cleanup } = await setup();
      const repo = uniqueName('cache');
      const [config, layer] = [newDigest(), newDigest()];
      const image = imageOf([config, layer]);
      await store.putManifest(repo, image.manifest, image.references, 'v1', { deferReferences: true });
      expect(await store.resolveTag(repo, 'v1')).toBe(image.manifest.digest);
      expect((await store.getManifest(repo, image.manifest.digest))?.body).toEqual(image.manifest.body);
      expect(await store.getBlob(layer)).toBeUndefined();
      expect((await store.findReferences(repo, image.references)).blobs.size).toBe(0);
      await cleanup();
    });

    it('holds a blob filled later: unlinking it is refused, naming the manifest, until the manifest is gone', async () => {
      const { store, cleanup } = await setup();
      const repo = uniqueName('cache');
      const elsewhere = await linkedBlob(store, uniqueName('other')); // stored already, for another repository
      const layer = newDigest();
      const image = imageOf([elsewhere, layer]);
      await store.putManifest(repo, image.manifest, image.references, 'v1', { deferReferences: true });
      await fill(store, repo, layer);
      await store.linkBlob(repo, elsewhere);
      for (const digest of [layer, elsewhere]) {
        await expect(store.unlinkBlob(repo, digest)).rejects.toMatchObject({ kind: 'blob', digest, holder: image.manifest.digest });
      }
      expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
      expect(await store.unlinkBlob(repo, layer)).toBe(true);
      expect(await store.unlinkBlob(repo, elsewhere)).toBe(true);
      await cleanup();
    });

    it('stores an index before its children, and each child when it is filled', async () => {
      const { store, cleanup } = await setup();
      const repo = uniqueName('cache');
      const layer = newDigest();
      const child = imageOf([layer]);
      const index = indexOf([child.manifest.digest, newDigest()]);
      await store.putManifest(repo, index.manifest, index.references, 'multi', { deferReferences: true });
      expect(await store.getManifest(repo, child.manifest.digest)).toBeUndefined();
      await store.putManifest(repo, child.manifest, child.references, undefined, { deferReferences: true });
      await fill(store, repo, layer);
      expect((await store.getManifest(repo, child.manifest.digest))?.digest).toBe(child.manifest.digest);
      await expect(store.unlinkBlob(repo, layer)).rejects.toBeInstanceOf(StoreInUseError);
      expect(await store.deleteManifest(repo, index.manifest.digest)).toBe(true);
      expect(await store.deleteManifest(repo, child.manifest.digest)).toBe(true);
      expect(await store.unlinkBlob(repo, layer)).toBe(true);
      await cleanup();
    });

    it('counts a manifest once when concurrent fills store it together (rounds)', async () => {
      const { store, cleanup } = await setup();
      for (let round = 0; round < 3; round++) {
        const repo = uniqueName('cache');
        const layer = newDigest();
        const image = imageOf([layer, newDigest()]);
        const puts = Array.from({ length: 6 }, (_, i) => store.putManifest(repo, image.manifest, image.references, `t${i % 2}`, { deferReferences: true }));
        await Promise.all(puts);
        expect(await store.resolveTag(repo, 't0')).toBe(image.manifest.digest);
        await fill(store, repo, layer);
        await expect(store.unlinkBlob(repo, layer)).rejects.toBeInstanceOf(StoreInUseError);
        // Every concurrent attempt's hold was given back or is the one the delete releases.
        expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
        expect(await store.unlinkBlob(repo, layer)).toBe(true);
      }
      await cleanup();
    });
  });
}
