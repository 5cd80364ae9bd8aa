import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConflictError, type MetadataStore, type UploadSession } from '../../functions/core/index';
import { sha256 } from './blob-store.contract';
import { allPages, fakeManifest as manifest, NO_REFERENCES, uploadSession } from './metadata-helpers';
import { metadataRaceContract } from './metadata-races.contract';
import { metadataReferenceContract } from './metadata-references.contract';

/**
 * The behaviour every MetadataStore must have. Each test works in repositories of its
 * own, so implementations may share one store across tests.
 */
export interface MetadataStoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
}

export function metadataStoreContract(name: string, create: () => Promise<MetadataStoreFixture>): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let fixture: MetadataStoreFixture;
    let store: MetadataStore;
    beforeAll(async () => {
      fixture = await create();
      store = fixture.store;
    });
    afterAll(async () => fixture?.cleanup());

    const current = () => store;
    const unique = () => randomBytes(4).toString('hex');
    const repo = (suffix = '') => `contract-${unique()}/app${suffix}`;

    it('creates a blob record once and returns the winner to later writers', async () => {
      const digest = sha256(randomBytes(16));
      expect(await store.getBlob(digest)).toBeUndefined();
      const first = { digest, size: 16, location: 'loc-1', createdAt: 1 };
      expect(await store.putBlob(first)).toEqual({ record: first, created: true });
      const second = await store.putBlob({ ...first, location: 'loc-2', createdAt: 2 });
      expect(second).toEqual({ record: first, created: false });
      expect(await store.getBlob(digest)).toEqual(first);
      await store.deleteBlob(digest);
      expect(await store.getBlob(digest)).toBeUndefined();
    });

    it('lets exactly one of two racing writers create a blob record', async () => {
      const digest = sha256(randomBytes(16));
      const results = await Promise.all([1, 2, 3].map((n) => store.putBlob({ digest, size: 1, location: `loc-${n}`, createdAt: n })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.record;
      for (const result of results) expect(result.record).toEqual(winner);
    });

    it('links blobs to repositories, and unlinks them', async () => {
      const a = repo();
      const b = repo('/api');
      const digest = sha256(randomBytes(16));
      expect(await store.isBlobLinked(a, digest)).toBe(false);
      await store.linkBlob(a, digest);
      await store.linkBlob(b, digest);
      await store.linkBlob(a, digest); // idempotent
      expect(await store.isBlobLinked(a, digest)).toBe(true);
      expect((await store.blobRepositories(digest, 10)).sort()).toEqual([a, b].sort());
      expect(await store.blobRepositories(digest, 1)).toHaveLength(1);
      expect(await store.unlinkBlob(a, digest)).toBe(true);
      expect(await store.unlinkBlob(a, digest)).toBe(false);
      expect(await store.isBlobLinked(a, digest)).toBe(false);
      expect(await store.isBlobLinked(b, digest)).toBe(true);
      expect(await store.blobRepositories(digest, 10)).toEqual([b]);
    });

    it('knows a repository once it has a blob or a manifest, and lists repositories in pages', async () => {
      const prefix = `catalog-${unique()}`;
      const names = [`${prefix}/b`, `${prefix}/a/x`, `${prefix}/a`, `${prefix}/c-d`];
      expect(await store.repositoryExists(names[0]!)).toBe(false);
      for (const name of names) await store.linkBlob(name, sha256(randomBytes(8)));
      for (const name of names) expect(await store.repositoryExists(name)).toBe(true);
      const mine = await allPages((after) => store.listRepositories({ limit: 2, ...(after ? { after } : {}) }), (n) => n.startsWith(prefix));
      expect(mine).toEqual([...names].sort());
      const start = await store.listRepositories({ limit: 1, after: `${prefix}/a` });
      expect(start.items).toEqual([`${prefix}/a/x`]);
      expect(start.more).toBe(true);
    });

    it('stores manifests with their exact bytes and resolves tags', async () => {
      const name = repo();
      const m = manifest({ mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      expect(await store.getManifest(name, m.digest)).toBeUndefined();
      await store.putManifest(name, m, NO_REFERENCES, 'v1');
      expect(await store.getManifest(name, m.digest)).toEqual(m);
      expect(await store.resolveTag(name, 'v1')).toBe(m.digest);
      expect(await store.resolveTag(name, 'v2')).toBeUndefined();
      expect(await store.repositoryExists(name)).toBe(true);
      expect(await store.getManifest(repo(), m.digest)).toBeUndefined(); // per repository
    });

    it('round-trips a manifest near the 4 MiB limit', async () => {
      const name = repo();
      const m = manifest({ size: 4 * 1024 * 1024 - 100 });
      await store.putManifest(name, m, NO_REFERENCES, 'big');
      const stored = await store.getManifest(name, m.digest);
      expect(stored).toBeDefined();
      // Compare digests: element-wise equality of 4 MiB arrays is slow.
      expect(sha256(stored!.body)).toBe(m.digest);
      expect(stored!.size).toBe(m.size);
    });

    it('moves tags, untags, and deletes manifests with the tags that point to them', async () => {
      const name = repo();
      const one = manifest();
      const two = manifest();
      await store.putManifest(name, one, NO_REFERENCES, 'latest');
      await store.putManifest(name, one, NO_REFERENCES, 'v1');
      await store.putManifest(name, two, NO_REFERENCES, 'v2');
      await store.putManifest(name, two, NO_REFERENCES, 'latest'); // tag move
      expect(await store.resolveTag(name, 'latest')).toBe(two.digest);
      expect(await store.deleteTag(name, 'v2')).toBe(true);
      expect(await store.deleteTag(name, 'v2')).toBe(false);
      expect(await store.getManifest(name, two.digest)).toBeDefined(); // untag keeps the manifest
      expect(await store.deleteManifest(name, two.digest)).toBe(true);
      expect(await store.deleteManifest(name, two.digest)).toBe(false);
      expect(await store.resolveTag(name, 'latest')).toBeUndefined();
      expect(await store.resolveTag(name, 'v1')).toBe(one.digest);
      expect((await store.listTags(name, { limit: 100 })).items).toEqual(['v1']);
    });

    it('lists tags in lexical order, a page at a time, with case kept', async () => {
      const name = repo();
      const m = manifest();
      const tags = ['b', 'a', 'A', 'latest', '1.0', 'v1.0.0-rc_1', 'Z9'];
      for (const tag of tags) await store.putManifest(name, m, NO_REFERENCES, tag);
      const expected = [...tags].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      expect((await store.listTags(name, { limit: 100 })).items).toEqual(expected);
      const paged = await allPages((after) => store.listTags(name, { limit: 3, ...(after ? { after } : {}) }));
      expect(paged).toEqual(expected);
      expect(await store.resolveTag(name, 'A')).toBe(m.digest);
      expect(await store.deleteTag(name, 'A')).toBe(true);
      expect(await store.resolveTag(name, 'a')).toBe(m.digest);
    });

    it('indexes referrers by subject, and forgets them when the referrer is deleted', async () => {
      const name = repo();
      const subject = sha256(randomBytes(8));
      const sbom = manifest({ subject, artifactType: 'application/spdx+json', annotations: { 'org.example': 'yes' } });
      const sig = manifest({ subject, artifactType: 'application/vnd.dev.cosign' });
      await store.putManifest(name, sbom, NO_REFERENCES);
      await store.putManifest(name, sig, NO_REFERENCES);
      const listed = await store.listReferrers(name, subject);
      expect(listed.map((d) => d.digest).sort()).toEqual([sbom.digest, sig.digest].sort());
      expect(listed.find((d) => d.digest === sbom.digest)).toEqual({
        mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size, artifactType: 'application/spdx+json', annotations: { 'org.example': 'yes' },
      });
      expect(await store.listReferrers(repo(), subject)).toEqual([]);
      await store.deleteManifest(name, sbom.digest);
      expect((await store.listReferrers(name, subject)).map((d) => d.digest)).toEqual([sig.digest]);
    });

    it('creates, reads, updates by version and deletes upload sessions', async () => {
      const session = uploadSession(repo());
      expect(await store.getUpload(session.id)).toBeUndefined();
      await store.createUpload(session);
      expect(await store.getUpload(session.id)).toEqual(session);
      const next = { ...session, offset: 10, version: 1, parts: [{ number: 1, size: 10, etag: '"abc"' }], tail: { name: 'x.1', size: 3 } };
      await store.updateUpload(next, 0);
      expect(await store.getUpload(session.id)).toEqual(next);
      await expect(store.updateUpload({ ...next, version: 2 }, 0)).rejects.toBeInstanceOf(StoreConflictError);
      const untailed: UploadSession = { ...next, version: 2 };
      delete untailed.tail;
      await store.updateUpload(untailed, 1);
      expect(await store.getUpload(session.id)).toEqual(untailed);
      await store.deleteUpload(session.id);
      await store.deleteUpload(session.id);
      expect(await store.getUpload(session.id)).toBeUndefined();
      await expect(store.updateUpload({ ...untailed, version: 3 }, 2)).rejects.toBeInstanceOf(StoreConflictError);
    });

    it('lets exactly one of two racing updates of one session win', async () => {
      const session = uploadSession(repo());
      await store.createUpload(session);
      const results = await Promise.allSettled([1, 2].map((n) => store.updateUpload({ ...session, version: 1, offset: n }, 0)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(StoreConflictError);
    });

    it('keeps a session with thousands of parts', async () => {
      const session = uploadSession(repo());
      session.parts = Array.from({ length: 2000 }, (_, i) => ({ number: i + 1, size: 5 * 1024 * 1024, etag: `"${randomBytes(16).toString('hex')}"` }));
      await store.createUpload(session);
      expect(await store.getUpload(session.id)).toEqual(session);
    });

    metadataReferenceContract(current);
    metadataRaceContract(current);
  });
}

