import { describe, expect, it } from 'vitest';
import { StoreInUseError, StoreReferenceMissingError, type MetadataStore } from '../../functions/core/index';
import { sha256 } from './blob-store.contract';
import { expectInvariants, fakeManifest, imageOf, indexOf, linkedBlob, uniqueName } from './metadata-helpers';

/**
 * References: a manifest is stored only with everything it references, and nothing it
 * references can be removed from under it (invariant I2 of ports.ts), without races.
 */
export function metadataReferenceContract(current: () => MetadataStore): void {
  describe('references', () => {
    it('refuses a manifest whose blob is not linked in the repository, storing nothing', async () => {
      const store = current();
      const repo = uniqueName();
      const present = await linkedBlob(store, repo);
      const elsewhere = await linkedBlob(store, uniqueName());
      for (const absent of [sha256(new Uint8Array([1, 2, 3])), elsewhere]) {
        const { manifest, references } = imageOf([present, absent]);
        const error = await store.putManifest(repo, manifest, references, 'v1').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreReferenceMissingError);
        expect(error).toMatchObject({ kind: 'blob', digest: absent });
        expect(await store.getManifest(repo, manifest.digest)).toBeUndefined();
        expect(await store.resolveTag(repo, 'v1')).toBeUndefined();
      }
      expect(await store.unlinkBlob(repo, present)).toBe(true); // a refused put holds nothing
    });

    it('refuses an index whose child is missing, or is a blob rather than a manifest', async () => {
      const store = current();
      const repo = uniqueName();
      const blob = await linkedBlob(store, repo);
      const child = imageOf([blob]);
      await store.putManifest(repo, child.manifest, child.references);
      for (const absent of [sha256(new Uint8Array([9])), blob]) {
        const index = indexOf([child.manifest.digest, absent]);
        const error = await store.putManifest(repo, index.manifest, index.references, 'multi').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoreReferenceMissingError);
        expect(error).toMatchObject({ kind: 'manifest', digest: absent });
        expect(await store.getManifest(repo, index.manifest.digest)).toBeUndefined();
      }
      expect(await store.deleteManifest(repo, child.manifest.digest)).toBe(true);
    });

    it('refuses to unlink a blob a manifest uses, naming the manifest, until the manifest is gone', async () => {
      const store = current();
      const repo = uniqueName();
      const other = uniqueName();
      const [config, layer] = [await linkedBlob(store, repo), await linkedBlob(store, repo)];
      await store.linkBlob(other, layer);
      const image = imageOf([config, layer]);
      await store.putManifest(repo, image.manifest, image.references, 'v1');
      await store.linkBlob(repo, layer); // linking again must not forget the use
      const refused = await store.unlinkBlob(repo, layer).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StoreInUseError);
      expect(refused).toMatchObject({ kind: 'blob', digest: layer, holder: image.manifest.digest });
      expect(await store.isBlobLinked(repo, layer)).toBe(true);
      expect(await store.unlinkBlob(other, layer)).toBe(true); // links are per repository
      expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
      expect(await store.unlinkBlob(repo, layer)).toBe(true);
      expect(await store.unlinkBlob(repo, config)).toBe(true);
    });

    it('counts each manifest once: re-pushes and retags hold nothing more, and a second user keeps holding', async () => {
      const store = current();
      const repo = uniqueName();
      const blob = await linkedBlob(store, repo);
      const first = imageOf([blob]);
      const second = imageOf([blob, blob]); // a digest given twice counts once
      await store.putManifest(repo, first.manifest, first.references, 'a');
      await store.putManifest(repo, first.manifest, first.references, 'b');
      await store.putManifest(repo, first.manifest, first.references);
      await store.putManifest(repo, second.manifest, second.references, 'a');
      expect(await store.deleteManifest(repo, first.manifest.digest)).toBe(true);
      await expect(store.unlinkBlob(repo, blob)).rejects.toMatchObject({ holder: second.manifest.digest });
      expect(await store.deleteTag(repo, 'a')).toBe(true); // untagging keeps the manifest, and its hold
      await expect(store.unlinkBlob(repo, blob)).rejects.toBeInstanceOf(StoreInUseError);
      expect(await store.deleteManifest(repo, second.manifest.digest)).toBe(true);
      expect(await store.unlinkBlob(repo, blob)).toBe(true);
    });

    it('refuses to delete a manifest an index lists, naming the index and keeping its tags', async () => {
      const store = current();
      const repo = uniqueName();
      const child = imageOf([await linkedBlob(store, repo)]);
      await store.putManifest(repo, child.manifest, child.references, 'amd64');
      const index = indexOf([child.manifest.digest]);
      await store.putManifest(repo, index.manifest, index.references, 'latest');
      const refused = await store.deleteManifest(repo, child.manifest.digest).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StoreInUseError);
      expect(refused).toMatchObject({ kind: 'manifest', digest: child.manifest.digest, holder: index.manifest.digest });
      expect(await store.resolveTag(repo, 'amd64')).toBe(child.manifest.digest);
      expect(await store.deleteManifest(repo, index.manifest.digest)).toBe(true);
      expect(await store.deleteManifest(repo, child.manifest.digest)).toBe(true);
      expect(await store.resolveTag(repo, 'amd64')).toBeUndefined();
    });

    it('stores and releases a manifest with more references than one transaction holds', async () => {
      const store = current();
      const repo = uniqueName();
      const blobs = await Promise.all(Array.from({ length: 120 }, () => linkedBlob(store, repo)));
      const image = imageOf(blobs);
      const missing = imageOf([...blobs.slice(0, 70), sha256(new Uint8Array([7])), ...blobs.slice(70)]);
      await expect(store.putManifest(repo, missing.manifest, missing.references)).rejects.toBeInstanceOf(StoreReferenceMissingError);
      await store.putManifest(repo, image.manifest, image.references, 'wide');
      await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
      await expect(store.unlinkBlob(repo, blobs[119]!)).rejects.toMatchObject({ holder: image.manifest.digest });
      expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
      for (const blob of blobs) expect(await store.unlinkBlob(repo, blob)).toBe(true);
    });

    it('finds, in bulk, the linked blobs and stored manifests a manifest references', async () => {
      const store = current();
      const repo = uniqueName();
      const linked = await linkedBlob(store, repo);
      const elsewhere = await linkedBlob(store, uniqueName());
      const child = imageOf([linked]);
      await store.putManifest(repo, child.manifest, child.references);
      const absent = sha256(new Uint8Array([4, 2]));
      const found = await store.findReferences(repo, { blobs: [linked, elsewhere, absent], manifests: [child.manifest.digest, absent, linked] });
      expect([...found.blobs.keys()]).toEqual([linked]);
      expect(found.blobs.get(linked)).toMatchObject({ digest: linked, size: 16 });
      expect(found.blobs.get(linked)).toEqual(await store.getBlob(linked));
      expect([...found.manifests.entries()]).toEqual([[child.manifest.digest, { size: child.manifest.size, mediaType: child.manifest.mediaType }]]);
      const many = Array.from({ length: 250 }, (_, i) => sha256(new Uint8Array([i, 1])));
      expect((await store.findReferences(repo, { blobs: [...many, linked, linked], manifests: [] })).blobs.size).toBe(1);
    });

    it('keeps the subject of a referrer free to come and go (a subject is not a reference)', async () => {
      const store = current();
      const repo = uniqueName();
      const subject = fakeManifest();
      await store.putManifest(repo, subject, { blobs: [], manifests: [] });
      const sbom = fakeManifest({ subject: subject.digest, artifactType: 'application/spdx+json' });
      await store.putManifest(repo, sbom, { blobs: [], manifests: [] });
      expect(await store.deleteManifest(repo, subject.digest)).toBe(true);
      expect((await store.listReferrers(repo, subject.digest)).map((d) => d.digest)).toEqual([sbom.digest]);
    });
  });
}
