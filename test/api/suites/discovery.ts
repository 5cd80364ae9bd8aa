import { describe, expect, it } from 'vitest';
import { expectError, OCI_INDEX, OCI_MANIFEST, sha256, uniqueRepo } from '../client';
import type { SuiteContext } from '../suite';

/** Content discovery: tags, catalog and referrers, with pagination. */
export function discoveryTests(t: SuiteContext): void {
  describe('content discovery', () => {
    it('lists tags in lexical order', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'b');
      for (const tag of ['a', 'C', 'latest', '1.0']) await t.client.putManifest(repo, tag, image.body, OCI_MANIFEST);
      const response = await t.client.send('GET', `/v2/${repo}/tags/list`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ name: repo, tags: ['1.0', 'C', 'a', 'b', 'latest'] });
      expect(response.headers.get('link')).toBeNull();
    });

    it('pages tags with n and last, linking to the next page', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 't0');
      for (const tag of ['t1', 't2', 't3', 't4']) await t.client.putManifest(repo, tag, image.body, OCI_MANIFEST);
      const first = await t.client.send('GET', `/v2/${repo}/tags/list?n=2`);
      expect((await first.json()).tags).toEqual(['t0', 't1']);
      expect(first.headers.get('link')).toBe(`</v2/${repo}/tags/list?n=2&last=t1>; rel="next"`);
      const second = await t.client.send('GET', `/v2/${repo}/tags/list?n=2&last=t1`);
      expect((await second.json()).tags).toEqual(['t2', 't3']);
      const last = await t.client.send('GET', `/v2/${repo}/tags/list?n=2&last=t3`);
      expect((await last.json()).tags).toEqual(['t4']);
      expect(last.headers.get('link')).toBeNull();
      const exact = await t.client.send('GET', `/v2/${repo}/tags/list?n=5`);
      expect((await exact.json()).tags).toHaveLength(5);
      expect(exact.headers.get('link')).toBeNull();
      expect((await (await t.client.send('GET', `/v2/${repo}/tags/list?n=0`)).json()).tags).toEqual([]);
      await expectError(await t.client.send('GET', `/v2/${repo}/tags/list?n=-1`), 400, 'UNSUPPORTED');
    });

    it('answers NAME_UNKNOWN for the tags of an unknown repository', async () => {
      await expectError(await t.client.send('GET', `/v2/${uniqueRepo()}/tags/list`), 404, 'NAME_UNKNOWN');
    });

    it('lists repositories in lexical order, a page at a time', async () => {
      const prefix = uniqueRepo('catalog').replace('/app', '');
      const names = [`${prefix}/zeta`, `${prefix}/alpha`, `${prefix}/alpha/nested`];
      for (const name of names) await t.client.pushImage(name, 'v1');
      const seen: string[] = [];
      let path: string | null = '/v2/_catalog?n=2';
      for (let guard = 0; path && guard < 10_000; guard++) {
        const response: Response = await t.client.send('GET', path);
        expect(response.status).toBe(200);
        const body = (await response.json()) as { repositories: string[] };
        expect(body.repositories.length).toBeLessThanOrEqual(2);
        seen.push(...body.repositories);
        path = /<([^>]+)>; rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
      }
      expect(seen).toEqual([...seen].sort());
      expect(seen.filter((name) => name.startsWith(prefix))).toEqual([...names].sort());
    });

    it('lists referrers as an image index, filtered by artifactType on request', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      const empty = await t.client.pushBlob(repo, new TextEncoder().encode('{}'));
      const referrer = async (artifactType: string, annotations?: Record<string, string>) => {
        const body = JSON.stringify({
          schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty.digest, size: 2 }, layers: [],
          subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size }, ...(annotations ? { annotations } : {}),
        });
        expect((await t.client.putManifest(repo, sha256(body), body, OCI_MANIFEST)).status).toBe(201);
        return { digest: sha256(body), size: Buffer.byteLength(body) };
      };
      const sbom = await referrer('application/spdx+json', { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
      const sig = await referrer('application/vnd.dev.cosign.artifact.sig.v1+json');

      const all = await t.client.send('GET', `/v2/${repo}/referrers/${image.digest}`);
      expect(all.status).toBe(200);
      expect(all.headers.get('content-type')).toBe(OCI_INDEX);
      expect(all.headers.get('oci-filters-applied')).toBeNull();
      const index = (await all.json()) as { schemaVersion: number; mediaType: string; manifests: Array<Record<string, unknown>> };
      expect(index.schemaVersion).toBe(2);
      expect(index.mediaType).toBe(OCI_INDEX);
      expect(index.manifests).toHaveLength(2);
      expect(index.manifests).toContainEqual({
        mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: 'application/spdx+json',
        annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
      });

      const filtered = await t.client.send('GET', `/v2/${repo}/referrers/${image.digest}?artifactType=application/vnd.dev.cosign.artifact.sig.v1%2Bjson`);
      expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(((await filtered.json()) as typeof index).manifests.map((m) => m.digest)).toEqual([sig.digest]);
    });

    it('answers an unknown subject with an empty index, and a bad digest with DIGEST_INVALID', async () => {
      const repo = uniqueRepo();
      const response = await t.client.send('GET', `/v2/${repo}/referrers/${sha256('nothing refers to me')}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      await expectError(await t.client.send('GET', `/v2/${repo}/referrers/latest`), 400, 'DIGEST_INVALID');
    });
  });
}
