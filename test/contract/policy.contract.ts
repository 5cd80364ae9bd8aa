import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRegistry, StoreConflictError, StoreTagConflictError, type BlobStore, type ManifestRecord, type MetadataStore, type Registry,
} from '../../functions/core/index';
import type { PolicyInventory, PolicyStore } from '../../functions/core/policy/ports';
import { runRetention, type RetentionReport } from '../../functions/core/policy/runner';
import { fakeManifest, imageOf, indexOf, inRounds, linkedBlob, race, uniqueName } from './metadata-helpers';

export interface PolicyFixture {
  store: MetadataStore & PolicyInventory;
  policies: PolicyStore;
  blobs: BlobStore;
  cleanup(): Promise<void>;
}

const DAY = 24 * 60 * 60 * 1000;
const T0 = 1_800_000_000_000;
const RACE_ROUNDS = 60;
const RACE_TIMEOUT_MS = 180_000;

/** A clock the test moves. */
function testClock(start: number) {
  let now = start;
  return { now: () => now, set: (at: number) => { now = at; } };
}

function at(manifest: ManifestRecord, createdAt: number): ManifestRecord {
  return { ...manifest, createdAt };
}

/** Names of a repository's tags, sorted. */
async function tagsOf(store: MetadataStore, repository: string): Promise<string[]> {
  return (await store.listTags(repository, { limit: 1000 })).items;
}

/** The deletions of a report as comparable strings. */
function listed(report: RetentionReport): string[] {
  return report.deleted.map((d) => `${d.repository} ${d.tag ?? '-'} ${d.digest} ${d.bytes}`);
}

/**
 * Retention and immutability on one store: the planner over the store's inventory, the
 * store's conditional deletes and immutable tag writes, and the policy CAS.
 */
export function policyContract(name: string, create: () => Promise<PolicyFixture>): void {
  describe(`retention and immutability: ${name}`, () => {
    let fixture: PolicyFixture;
    const clock = testClock(T0);
    beforeEach(async () => {
      fixture = await create();
      clock.set(T0);
    });
    afterEach(async () => fixture.cleanup());

    const deps = () => ({ metadata: fixture.store, inventory: fixture.store, policies: fixture.policies, clock });
    const retain = async (rules: unknown[]) => fixture.policies.put('retention', { rules });

    async function pushTag(repository: string, tag: string, pushedAt: number, blobs?: string[]): Promise<ManifestRecord> {
      const image = imageOf(blobs ?? [await linkedBlob(fixture.store, repository)]);
      const manifest = at(image.manifest, pushedAt);
      await fixture.store.putManifest(repository, manifest, image.references, tag);
      return manifest;
    }

    it('keepLast keeps the N most recently pushed tags', async () => {
      const repo = uniqueName('keep-last');
      for (let i = 1; i <= 5; i++) await pushTag(repo, `build-${i}`, T0 - (10 - i) * DAY);
      // Re-pushing build-1 makes it the newest.
      const again = await pushTag(repo, 'build-1-again', T0 - 20 * DAY);
      await fixture.store.putManifest(repo, at(again, T0 - DAY / 2), { blobs: [], manifests: [] }, 'build-1');
      await retain([{ repositories: repo, keepLast: 2 }]);
      const report = await runRetention(deps(), { dryRun: false });
      expect(report.deleted.map((d) => d.tag).sort()).toEqual(['build-1-again', 'build-2', 'build-3', 'build-4']);
      expect(await tagsOf(fixture.store, repo)).toEqual(['build-1', 'build-5']);
    });

    it('keepTags are always kept and do not count toward keepLast; the first matching rule governs', async () => {
      const repo = uniqueName('keep-tags');
      const other = uniqueName('untouched');
      for (let i = 1; i <= 3; i++) await pushTag(repo, `release-${i}`, T0 - (20 - i) * DAY);
      for (let i = 1; i <= 3; i++) await pushTag(repo, `dev-${i}`, T0 - (10 - i) * DAY);
      await pushTag(other, 'old', T0 - 100 * DAY);
      await retain([
        { repositories: repo, keepLast: 1, keepTags: ['release-*', '/^stable$/'] },
        { repositories: repo, keepLast: 0 },
      ]);
      await runRetention(deps(), { dryRun: false });
      expect(await tagsOf(fixture.store, repo)).toEqual(['dev-3', 'release-1', 'release-2', 'release-3']);
      expect(await tagsOf(fixture.store, other)).toEqual(['old']);
    });

    it('untaggedOlderThanDays expires old untagged manifests, never an index child or a referrer whose holder stays', async () => {
      const repo = uniqueName('untagged');
      const blob = await linkedBlob(fixture.store, repo);
      const old = T0 - 10 * DAY;
      const stale = at(imageOf([blob]).manifest, old);
      const fresh = at(imageOf([blob]).manifest, T0 - DAY);
      const child = at(imageOf([blob]).manifest, old);
      const index = indexOf([child.digest]);
      const subject = at(imageOf([blob]).manifest, old);
      const referrer = at(fakeManifest({ subject: subject.digest }), old);
      const orphanReferrer = at(fakeManifest({ subject: stale.digest }), old);
      for (const manifest of [stale, fresh, child, subject]) await fixture.store.putManifest(repo, manifest, { blobs: [blob], manifests: [] });
      await fixture.store.putManifest(repo, at(index.manifest, T0 - DAY), index.references);
      await fixture.store.putManifest(repo, subject, { blobs: [blob], manifests: [] }, 'kept');
      await fixture.store.putManifest(repo, referrer, { blobs: [], manifests: [] });
      await fixture.store.putManifest(repo, orphanReferrer, { blobs: [], manifests: [] });
      await retain([{ repositories: '**', untaggedOlderThanDays: 7 }]);
      const report = await runRetention(deps(), { dryRun: false });
      // The stale manifest goes, then the referrer of it (subject before referrer).
      expect(report.deleted.map((d) => d.digest)).toEqual([stale.digest, orphanReferrer.digest]);
      expect(await fixture.store.getManifest(repo, stale.digest)).toBeUndefined();
      for (const kept of [fresh, child, subject, referrer, index.manifest]) expect(await fixture.store.getManifest(repo, kept.digest)).toBeDefined();
    });

    it('notPulledForDays expires tags neither pulled nor pushed within D days; pulls are recorded at most daily', async () => {
      const repo = uniqueName('pulls');
      await pushTag(repo, 'pulled', T0);
      await pushTag(repo, 'idle', T0);
      await pushTag(repo, 'young', T0 + 25 * DAY);
      expect(await fixture.store.resolvePulledTag(repo, 'pulled', T0 + 20 * DAY)).toBeTypeOf('string');
      // Within the day: not written again.
      await fixture.store.resolvePulledTag(repo, 'pulled', T0 + 20 * DAY + 3_600_000);
      const times = async () => (await fixture.store.listTagInfo(repo)).find((t) => t.tag === 'pulled')?.pulledAt;
      expect(await times()).toBe(T0 + 20 * DAY);
      await fixture.store.resolvePulledTag(repo, 'pulled', T0 + 21 * DAY);
      expect(await times()).toBe(T0 + 21 * DAY);
      await retain([{ repositories: repo, notPulledForDays: 30 }]);
      clock.set(T0 + 31 * DAY);
      const report = await runRetention(deps(), { dryRun: false });
      expect(report.deleted.map((d) => [d.tag, d.reason])).toEqual([['idle', 'notPulled']]);
      expect(await tagsOf(fixture.store, repo)).toEqual(['pulled', 'young']);
    });

    it('a dry run lists exactly what the real run then deletes, with the bytes freed', async () => {
      const repos = [uniqueName('dry-a'), uniqueName('dry-b')];
      for (const repo of repos) {
        const shared = await linkedBlob(fixture.store, repo);
        for (let i = 0; i < 6; i++) await pushTag(repo, `t${i}`, T0 - (30 - i) * DAY, [shared, await linkedBlob(fixture.store, repo)]);
        await fixture.store.putManifest(repo, at(imageOf([shared]).manifest, T0 - 9 * DAY), { blobs: [shared], manifests: [] });
      }
      await retain([{ repositories: '**', keepLast: 2, untaggedOlderThanDays: 7 }]);
      clock.set(T0 + 1000);
      const dry = await runRetention(deps(), { dryRun: true });
      expect(dry.deleted.length).toBeGreaterThan(0);
      expect(await tagsOf(fixture.store, repos[0]!)).toHaveLength(6);
      const real = await runRetention(deps(), { dryRun: false });
      expect(listed(real)).toEqual(listed(dry));
      expect(real.bytesFreed).toBe(dry.bytesFreed);
      expect(real.skipped).toEqual([]);
      // Expired tags' manifests are deleted with them; their own layer (16 bytes) is freed, the shared one is not.
      const manifests = real.deleted.filter((d) => d.tag === undefined);
      expect(manifests).toHaveLength(2 * 5);
      for (const repo of repos) expect(await tagsOf(fixture.store, repo)).toEqual(['t4', 't5']);
      expect((await runRetention(deps(), { dryRun: true })).deleted).toEqual([]);
    });

    it('retention never deletes immutable tags, and skips a tag that moved after planning', async () => {
      const repo = uniqueName('ret-immutable');
      await pushTag(repo, 'v1', T0 - 5 * DAY);
      await pushTag(repo, 'scratch', T0 - 4 * DAY);
      await fixture.policies.put('immutability', { rules: [{ repositories: repo, tags: ['v*'] }] });
      await retain([{ repositories: repo, keepLast: 0 }]);
      expect((await runRetention(deps(), { dryRun: true })).deleted.map((d) => d.tag)).toEqual(['scratch']);
      const digest = (await fixture.store.resolveTag(repo, 'scratch'))!;
      await pushTag(repo, 'scratch', T0);
      expect(await fixture.store.deleteTag(repo, 'scratch', digest)).toBe(false);
      expect(await tagsOf(fixture.store, repo)).toEqual(['scratch', 'v1']);
    });

    describe('immutable tags through the API', () => {
      let registry: Registry;
      beforeEach(() => {
        registry = createRegistry({
          blobs: fixture.blobs, metadata: fixture.store, policies: fixture.policies, inventory: fixture.store, clock,
          config: { uploadSecret: new Uint8Array(32).fill(7) },
        });
      });

      async function manifestBody(repo: string): Promise<string> {
        const [config, layer] = [await linkedBlob(fixture.store, repo), await linkedBlob(fixture.store, repo)];
        return JSON.stringify({
          schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 16 },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 16 }],
        });
      }
      const put = (repo: string, ref: string, body: string) => registry.fetch(new Request(`http://registry/v2/${repo}/manifests/${ref}`, {
        method: 'PUT', body, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      }));
      const remove = (repo: string, ref: string) => registry.fetch(new Request(`http://registry/v2/${repo}/manifests/${ref}`, { method: 'DELETE' }));

      it('cannot be overwritten or deleted (DENIED naming the rule); the same digest re-pushes; an excluded tag moves', async () => {
        const repo = uniqueName('immutable');
        await fixture.policies.put('immutability', { rules: [{ id: 'all-but-latest', repositories: repo.replace(/\/app$/, '/*'), except: ['latest'] }] });
        const [first, second] = [await manifestBody(repo), await manifestBody(repo)];
        expect((await put(repo, 'v1', first)).status).toBe(201);
        const denied = await put(repo, 'v1', second);
        expect(denied.status).toBe(403);
        const body = await denied.json() as { errors: Array<{ code: string; message: string }> };
        expect(body.errors[0]!.code).toBe('DENIED');
        expect(body.errors[0]!.message).toContain('all-but-latest');
        expect((await put(repo, 'v1', first)).status).toBe(201);
        const digest = (await fixture.store.resolveTag(repo, 'v1'))!;
        expect((await remove(repo, 'v1')).status).toBe(403);
        const byDigest = await remove(repo, digest);
        expect(byDigest.status).toBe(403);
        expect(JSON.stringify(await byDigest.json())).toContain('all-but-latest');
        expect(await fixture.store.resolveTag(repo, 'v1')).toBe(digest);
        expect((await put(repo, 'latest', first)).status).toBe(201);
        expect((await put(repo, 'latest', second)).status).toBe(201);
        expect((await remove(repo, 'latest')).status).toBe(202);
      });
    });

    it(`concurrent pushes of different digests to a new immutable tag: exactly one wins, the tag never moves (${RACE_ROUNDS} rounds)`, async () => {
      const store = fixture.store;
      await inRounds(RACE_ROUNDS, 10, async (round) => {
        const repo = uniqueName('immutable-race');
        const [a, b] = [imageOf([await linkedBlob(store, repo)]), imageOf([await linkedBlob(store, repo)])];
        const results = await race(round,
          () => store.putManifest(repo, a.manifest, a.references, 'v1', { keepTag: true }),
          () => store.putManifest(repo, b.manifest, b.references, 'v1', { keepTag: true }));
        const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [[a, b][index]!.manifest.digest] : []));
        expect(winners).toHaveLength(1);
        for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(StoreTagConflictError);
        expect(await store.resolveTag(repo, 'v1')).toBe(winners[0]);
        // Later attempts of the loser still cannot move it.
        const loser = winners[0] === a.manifest.digest ? b : a;
        await expect(store.putManifest(repo, loser.manifest, loser.references, 'v1', { keepTag: true })).rejects.toBeInstanceOf(StoreTagConflictError);
        expect(await store.resolveTag(repo, 'v1')).toBe(winners[0]);
      });
    }, RACE_TIMEOUT_MS);

    it(`DELETE by digest racing a push of an immutable tag to it never removes the tag once pushed (${RACE_ROUNDS} rounds)`, async () => {
      const store = fixture.store;
      await inRounds(RACE_ROUNDS, 10, async (round) => {
        const repo = uniqueName('immutable-delete');
        const image = imageOf([await linkedBlob(store, repo)]);
        await store.putManifest(repo, image.manifest, image.references);
        const [put, removed] = await race(round,
          () => store.putManifest(repo, image.manifest, image.references, 'v1', { keepTag: true }),
          () => store.deleteManifest(repo, image.manifest.digest, { refuseTag: (tag) => tag.startsWith('v') }));
        expect(put.status).toBe('fulfilled');
        if (removed.status === 'rejected') expect(removed.reason).toBeInstanceOf(StoreTagConflictError);
        // Either the delete came first (and the push stored it again) or it was refused: the tag stays.
        expect(await store.resolveTag(repo, 'v1')).toBe(image.manifest.digest);
        expect(await store.getManifest(repo, image.manifest.digest)).toBeDefined();
      });
    }, RACE_TIMEOUT_MS);

    it('untaggedOnly refuses to delete a manifest that is tagged', async () => {
      const repo = uniqueName('untagged-only');
      const manifest = await pushTag(repo, 'v1', T0);
      await expect(fixture.store.deleteManifest(repo, manifest.digest, { untaggedOnly: true })).rejects.toBeInstanceOf(StoreTagConflictError);
      expect(await fixture.store.resolveTag(repo, 'v1')).toBe(manifest.digest);
    });

    it('policy documents are replaced by compare-and-swap on their ETag', async () => {
      const { policies } = fixture;
      expect(await policies.get('retention')).toBeUndefined();
      const first = await policies.put('retention', { rules: [] }, '0');
      await expect(policies.put('retention', { rules: [] }, '0')).rejects.toBeInstanceOf(StoreConflictError);
      const second = await policies.put('retention', { rules: [{ repositories: '**', keepLast: 3 }] }, first);
      expect(second).not.toBe(first);
      await expect(policies.put('retention', { rules: [] }, first)).rejects.toBeInstanceOf(StoreConflictError);
      expect(await policies.get('retention')).toEqual({ document: { rules: [{ repositories: '**', keepLast: 3 }] }, etag: second });
      // Concurrent writers with the same ETag: exactly one wins.
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => policies.put('retention', { rules: [], n: i }, second)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StoreConflictError);
      expect(await policies.get('immutability')).toBeUndefined();
    });
  });
}
