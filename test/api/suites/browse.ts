/**
 * The browse UI's read routes (handlers/browse.ts) over a store: repository search, tag summaries
 * with push and pull times, manifest summaries and storage. Run on the filesystem stores
 * (test/api/ui.test.ts) and on S3 + DynamoDB emulators (test/aws/api.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHILDREN_MEASURED } from '../../../functions/core/browse/summary';
import { OCI_INDEX, OCI_MANIFEST, pushImage, pushManifest, pushReferrer, pushTwoPlatformIndex, SBOM_TYPE, type Pusher } from '../../../harness/ui-images';

export interface BrowseTarget {
  /** A registry on empty stores with its policy inventory. */
  fetch(request: Request): Promise<Response>;
  cleanup(): Promise<void>;
}

const BASE = 'http://registry.test';

export function defineBrowseSuite(name: string, create: () => Promise<BrowseTarget>): void {
  describe(`browse routes: ${name}`, () => {
    let target: BrowseTarget;
    let pusher: Pusher;
    const get = (path: string, headers: Record<string, string> = {}) => target.fetch(new Request(`${BASE}${path}`, { headers }));
    const json = async <T>(path: string): Promise<T> => {
      const response = await get(path);
      expect(response.status, await response.clone().text()).toBe(200);
      return response.json() as Promise<T>;
    };

    beforeAll(async () => {
      target = await create();
      pusher = { base: BASE, fetch: (request) => target.fetch(request) };
    });
    afterAll(() => target?.cleanup());

    it('searches repository names by substring a page at a time, resuming from the cursor it returns', async () => {
      const names = [...Array.from({ length: 7 }, (_, i) => `search/alpha-${i}`), ...Array.from({ length: 5 }, (_, i) => `search/beta-${i}`), 'zeta/alpha-last'];
      await Promise.all(names.map((name) => pushImage(pusher, name, 'v1', { layerBytes: 10 })));
      const seen: string[] = [];
      let last: string | undefined;
      let pages = 0;
      do {
        const page: { repositories: string[]; next?: string } = await json(`/v2/_nimbus/repositories?q=ALPHA&n=3${last ? `&last=${last}` : ''}`);
        expect(page.repositories.length).toBeLessThanOrEqual(3);
        seen.push(...page.repositories);
        last = page.next;
        pages += 1;
      } while (last && pages < 10);
      expect(seen).toEqual(names.filter((name) => name.includes('alpha')));
      const all: { repositories: string[] } = await json('/v2/_nimbus/repositories?n=100');
      expect(all.repositories.filter((name) => names.includes(name))).toEqual(names);
      expect((await get('/v2/_nimbus/repositories?n=x')).status).toBe(400);
      expect((await get('/v2/_nimbus/repositories?last=..bad')).status).toBe(400);
    });

    it('summarises tags (digest, size, platforms, push and pull times) without recording a pull itself', async () => {
      const image = await pushImage(pusher, 'browse/app', '1.0', { layerBytes: 1234, entrypoint: ['/app'], labels: { team: 'a' } });
      const index = await pushTwoPlatformIndex(pusher, 'browse/app', 'multi');
      type Tags = { tags: Array<{ tag: string; digest: string; size: number; sizeComplete: boolean; platforms: unknown[]; pushedAt?: number; pulledAt?: number }> };
      const before: Tags = await json('/v2/browse/app/_nimbus/tags');
      expect(before.tags.map(({ tag, digest, size, platforms }) => ({ tag, digest, size, platforms }))).toEqual([
        { tag: '1.0', digest: image.digest, size: image.size, platforms: [{ os: 'linux', architecture: 'amd64' }] },
        { tag: 'multi', digest: index.digest, size: index.size, platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] },
      ]);
      expect(before.tags.every((tag) => typeof tag.pushedAt === 'number' && tag.pulledAt === undefined && tag.sizeComplete)).toBe(true);
      const again: Tags = await json('/v2/browse/app/_nimbus/tags');
      expect(again.tags.every((tag) => tag.pulledAt === undefined)).toBe(true);
      expect((await get('/v2/browse/app/manifests/1.0', { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status).toBe(200);
      const after: Tags = await json('/v2/browse/app/_nimbus/tags?n=1');
      expect(after.tags).toHaveLength(1);
      expect(after.tags[0]!.pulledAt).toEqual(expect.any(Number));
      expect(await json('/v2/browse/app/_nimbus/tags?n=1&last=1.0')).toMatchObject({ tags: [{ tag: 'multi' }] });
      expect((await get('/v2/browse/none/_nimbus/tags')).status).toBe(404);
      expect(await json('/v2/browse/app/_nimbus/tags?n=0')).toEqual({ name: 'browse/app', tags: [] });
      expect(await json('/v2/_nimbus/repositories?n=0')).toEqual({ repositories: [], scanned: 0 });
    });

    it("summarises a manifest's config and measures a repository's storage; referrers stay the spec's API", async () => {
      const image = await pushImage(pusher, 'browse/config', 'v1', { layerBytes: 100, entrypoint: ['/bin/x', '-y'], env: ['A=1'], labels: { team: 'b' } });
      const referrer = await pushReferrer(pusher, 'browse/config', image.digest);
      const summary = await json(`/v2/browse/config/_nimbus/summary/${image.digest}`);
      expect(summary).toMatchObject({ kind: 'image', size: image.size, config: { created: '2026-01-02T03:04:05Z', entrypoint: ['/bin/x', '-y'], env: ['A=1'], labels: { team: 'b' } } });
      expect(await json(`/v2/browse/config/_nimbus/summary/${referrer}`)).toMatchObject({ artifactType: SBOM_TYPE, platforms: [] });
      const missing = await get(`/v2/browse/config/_nimbus/summary/sha256:${'0'.repeat(64)}`);
      expect(missing.status).toBe(404);
      expect((await get('/v2/browse/config/_nimbus/summary/not-a-digest')).status).toBe(400);
      const storage: { manifests: number; blobs: number; bytes: number; blobBytes: number } = await json('/v2/browse/config/_nimbus/storage');
      expect(storage.manifests).toBe(2);
      expect(storage.blobs).toBe(4);
      expect(storage.blobBytes).toBe(image.size + 2 + JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'example' }).length);
    });

    it("measures an index's size over its first MAX_CHILDREN_MEASURED children only, and says so", async () => {
      // The first MAX_CHILDREN_MEASURED children share one config and layer (they differ by an
      // annotation); only the last has a layer of its own, which the size must leave out.
      const shared = await pushImage(pusher, 'browse/wide', undefined, { layerBytes: 100 });
      const sharedBody = new Uint8Array(await (await get(`/v2/browse/wide/manifests/${shared.digest}`, { Accept: OCI_MANIFEST })).arrayBuffer());
      const sharedManifest = JSON.parse(new TextDecoder().decode(sharedBody)) as Record<string, unknown>;
      const variants = await Promise.all(Array.from({ length: MAX_CHILDREN_MEASURED }, async (_, i) => {
        const manifest = { ...sharedManifest, annotations: { variant: String(i) } };
        const digest = await pushManifest(pusher, 'browse/wide', undefined, manifest, OCI_MANIFEST);
        return { digest, size: new TextEncoder().encode(JSON.stringify(manifest)).byteLength };
      }));
      const last = await pushImage(pusher, 'browse/wide', undefined, { layerBytes: 5000 });
      const lastSize = (await (await get(`/v2/browse/wide/manifests/${last.digest}`, { Accept: OCI_MANIFEST })).arrayBuffer()).byteLength;
      const manifests = [...variants, { digest: last.digest, size: lastSize }].map((child) => ({ mediaType: OCI_MANIFEST, ...child, platform: { os: 'linux', architecture: 'amd64' } }));
      const index = await pushManifest(pusher, 'browse/wide', 'wide', { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX);
      const summary: { size: number; sizeComplete: boolean; platforms: unknown[] } = await json(`/v2/browse/wide/_nimbus/summary/${index}`);
      expect(summary.platforms).toHaveLength(MAX_CHILDREN_MEASURED + 1);
      expect(summary.sizeComplete).toBe(false);
      expect(summary.size).toBe(shared.size);
    });
  });
}
