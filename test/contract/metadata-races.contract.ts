import { describe, expect, it } from 'vitest';
import { StoreInUseError, StoreReferenceMissingError, type ManifestReferences, type MetadataStore } from '../../functions/core/index';
import { expectInvariants, fakeManifest, fulfilled, imageOf, indexOf, inRounds, linkedBlob, race, uniqueName } from './metadata-helpers';

/** Rounds per race; each round races two writers in a repository of its own. */
const ROUNDS = 100;
/** Rounds in flight at once. */
const PARALLEL = 10;
/** Many rounds against an emulator take longer than one ordinary test. */
const RACE_TIMEOUT_MS = 180_000;

/**
 * Every pair of writers that could break an invariant (ports.ts), raced: after each round the
 * invariants hold, and the outcome is one a serial order of the two writers could give.
 * Accounting is checked too: once the manifests are gone, their blobs unlink.
 */
export function metadataRaceContract(current: () => MetadataStore): void {
  describe('races', () => {
    it(`tag PUT vs DELETE of the tagged manifest by digest never leaves a dangling tag (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-tag');
        const image = imageOf([await linkedBlob(store, repo)]);
        await store.putManifest(repo, image.manifest, image.references, 'v0');
        const [put, removed] = await race(round,
          () => store.putManifest(repo, image.manifest, image.references, 'v1'),
          () => store.deleteManifest(repo, image.manifest.digest));
        expect(fulfilled(put)).toBeUndefined();
        expect(fulfilled(removed)).toBe(true);
        await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
        await expectReleased(store, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`tag PUT vs DELETE of a manifest too large for one metadata item (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-big');
        const image = { manifest: fakeManifest({ size: 420_000 }), references: { blobs: [await linkedBlob(store, repo)], manifests: [] } };
        await store.putManifest(repo, image.manifest, image.references, 'v0');
        const [removed, put] = await race(round,
          () => store.deleteManifest(repo, image.manifest.digest),
          () => store.putManifest(repo, image.manifest, image.references, 'v1'));
        expect([fulfilled(removed), fulfilled(put)]).toEqual([true, undefined]);
        await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
        const served = await store.getManifest(repo, image.manifest.digest);
        if (served) expect(served.size).toBe(image.manifest.size);
        await expectReleased(store, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`manifest PUT vs unlink of its blob: exactly one wins, and a stored manifest keeps its blob (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-blob');
        const [config, layer] = [await linkedBlob(store, repo), await linkedBlob(store, repo)];
        const image = imageOf([config, layer]);
        const [put, unlink] = await race(round,
          () => store.putManifest(repo, image.manifest, image.references, 'latest'),
          () => store.unlinkBlob(repo, layer));
        if (put.status === 'fulfilled') {
          expect(unlink.status === 'rejected' && unlink.reason).toBeInstanceOf(StoreInUseError);
          expect(await store.getManifest(repo, image.manifest.digest)).toBeDefined();
        } else {
          expect(put.reason).toBeInstanceOf(StoreReferenceMissingError);
          expect(put.reason).toMatchObject({ kind: 'blob', digest: layer });
          expect(unlink).toEqual({ status: 'fulfilled', value: true });
          expect(await store.getManifest(repo, image.manifest.digest)).toBeUndefined();
        }
        await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
        await expectReleased(store, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`index PUT vs DELETE of its child: exactly one wins, and a stored index keeps its child (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-child');
        const child = imageOf([await linkedBlob(store, repo)]);
        await store.putManifest(repo, child.manifest, child.references, 'amd64');
        const index = indexOf([child.manifest.digest]);
        const [put, removed] = await race(round,
          () => store.putManifest(repo, index.manifest, index.references, 'latest'),
          () => store.deleteManifest(repo, child.manifest.digest));
        if (put.status === 'fulfilled') {
          expect(removed.status === 'rejected' && removed.reason).toMatchObject({ kind: 'manifest', holder: index.manifest.digest });
        } else {
          expect(put.reason).toMatchObject({ kind: 'manifest', digest: child.manifest.digest });
          expect(put.reason).toBeInstanceOf(StoreReferenceMissingError);
          expect(removed).toEqual({ status: 'fulfilled', value: true });
        }
        const known = new Map([[index.manifest.digest, index.references], [child.manifest.digest, child.references]]);
        await expectInvariants(store, repo, known);
        await expectReleased(store, repo, [index, child]);
      });
    }, RACE_TIMEOUT_MS);

    it(`manifest DELETE vs re-PUT of the same manifest leaves it whole or gone, counted once (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-reput');
        const image = imageOf([await linkedBlob(store, repo), await linkedBlob(store, repo)]);
        await store.putManifest(repo, image.manifest, image.references, 'v1');
        const [removed, put] = await race(round,
          () => store.deleteManifest(repo, image.manifest.digest),
          () => store.putManifest(repo, image.manifest, image.references, 'v2'));
        expect([fulfilled(removed), fulfilled(put)]).toEqual([true, undefined]);
        await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
        await expectReleased(store, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`concurrent PUTs of one new manifest count its references once (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async () => {
        const repo = uniqueName('race-same');
        const image = imageOf([await linkedBlob(store, repo)]);
        await Promise.all(['a', 'b', undefined].map((tag) => store.putManifest(repo, image.manifest, image.references, tag)));
        expect((await store.listTags(repo, { limit: 10 })).items).toEqual(['a', 'b']);
        await expectInvariants(store, repo, new Map([[image.manifest.digest, image.references]]));
        await expectReleased(store, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`tag move vs tag delete leaves the tag gone or on the new manifest (${ROUNDS} rounds)`, async () => {
      const store = current();
      await inRounds(ROUNDS, PARALLEL, async (round) => {
        const repo = uniqueName('race-move');
        const blob = await linkedBlob(store, repo);
        const [one, two] = [imageOf([blob]), imageOf([blob])];
        await store.putManifest(repo, one.manifest, one.references, 'latest');
        await store.putManifest(repo, two.manifest, two.references);
        const [moved, removed] = await race(round,
          () => store.putManifest(repo, two.manifest, two.references, 'latest'),
          () => store.deleteTag(repo, 'latest'));
        expect(fulfilled(moved)).toBeUndefined();
        expect(fulfilled(removed)).toBe(true);
        expect([undefined, two.manifest.digest]).toContain(await store.resolveTag(repo, 'latest'));
        const known = new Map([[one.manifest.digest, one.references], [two.manifest.digest, two.references]]);
        await expectInvariants(store, repo, known);
        await expectReleased(store, repo, [one, two]);
      });
    }, RACE_TIMEOUT_MS);
  });
}

/**
 * Deletes the given manifests (indexes first), then expects every blob they used to unlink:
 * a reference counted twice, or left behind by a race, would refuse.
 */
async function expectReleased(store: MetadataStore, repository: string, images: { manifest: { digest: string }; references: ManifestReferences }[]): Promise<void> {
  for (const image of images) await store.deleteManifest(repository, image.manifest.digest);
  const blobs = new Set(images.flatMap((image) => image.references.blobs));
  for (const blob of blobs) {
    const unlinked = await store.unlinkBlob(repository, blob).catch((error: unknown) => error);
    expect(unlinked === true || unlinked === false, `blob ${blob} is still held: ${String(unlinked)}`).toBe(true);
  }
}
