import { describe, expect, it } from 'vitest';
import { bodyText, DOCKER_LIST, DOCKER_MANIFEST, expectError, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, rand, sha256, uniqueRepo } from '../client';
import type { SuiteContext } from '../suite';

/** Pushing and pulling manifests of every kind, and the validation around them. */
export function manifestTests(t: SuiteContext): void {
  describe('manifests', () => {
    it('stores an OCI image manifest by tag and serves it by tag and digest, byte for byte', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      for (const reference of ['v1', image.digest]) {
        const get = await t.client.send('GET', `/v2/${repo}/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST } });
        expect(get.status).toBe(200);
        expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
        expect(get.headers.get('docker-content-digest')).toBe(image.digest);
        expect(get.headers.get('content-length')).toBe(String(image.size));
        expect(await get.text()).toBe(image.body);
        const head = await t.client.send('HEAD', `/v2/${repo}/manifests/${reference}`);
        expect(head.status).toBe(200);
        expect(head.headers.get('content-length')).toBe(String(image.size));
        expect(head.headers.get('docker-content-digest')).toBe(image.digest);
      }
    });

    it('answers a manifest PUT with 201, its Location and digest', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(50));
      const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 50 }, layers: [] });
      const response = await t.client.putManifest(repo, 'latest', body, OCI_MANIFEST);
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe(`/v2/${repo}/manifests/${sha256(body)}`);
      expect(response.headers.get('docker-content-digest')).toBe(sha256(body));
    });

    it('computes the digest over the exact bytes pushed, whitespace and key order included', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(50));
      const body = `{\n  "layers": [],\n  "schemaVersion": 2,   "config": {"size": 50, "digest": "${config.digest}", "mediaType": "${OCI_CONFIG}"}\n}\n`;
      const response = await t.client.putManifest(repo, sha256(body), body, OCI_MANIFEST);
      expect(response.status, await bodyText(response)).toBe(201);
      expect(await (await t.client.send('GET', `/v2/${repo}/manifests/${sha256(body)}`)).text()).toBe(body);
    });

    it('stores Docker schema2 manifests and manifest lists with their media types', async () => {
      const repo = uniqueRepo();
      const amd = await t.client.pushImage(repo, 'amd64', { mediaType: DOCKER_MANIFEST });
      const arm = await t.client.pushImage(repo, 'arm64', { mediaType: DOCKER_MANIFEST });
      const list = JSON.stringify({
        schemaVersion: 2, mediaType: DOCKER_LIST,
        manifests: [
          { mediaType: DOCKER_MANIFEST, digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: DOCKER_MANIFEST, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        ],
      });
      const response = await t.client.putManifest(repo, 'multi', list, DOCKER_LIST);
      expect(response.status, await bodyText(response)).toBe(201);
      const get = await t.client.send('GET', `/v2/${repo}/manifests/multi`);
      expect(get.headers.get('content-type')).toBe(DOCKER_LIST);
      expect((await t.client.send('GET', `/v2/${repo}/manifests/amd64`)).headers.get('content-type')).toBe(DOCKER_MANIFEST);
    });

    it('stores an OCI index whose children are in the repository, and rejects one with a missing child', async () => {
      const repo = uniqueRepo();
      const child = await t.client.pushImage(repo, 'child');
      const index = (digest: string) => JSON.stringify({
        schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest, size: child.size, platform: { architecture: 'amd64', os: 'linux' } }],
      });
      expect((await t.client.putManifest(repo, 'index', index(child.digest), OCI_INDEX)).status).toBe(201);
      await expectError(await t.client.putManifest(repo, 'broken', index(sha256('absent')), OCI_INDEX), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/broken`), 404, 'MANIFEST_UNKNOWN');
    });

    it('stores artifacts with artifactType and custom config media types', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, new TextEncoder().encode('{}'));
      const payload = await t.client.pushBlob(repo, rand(64));
      const body = JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.thing.v1',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: 2 },
        layers: [{ mediaType: 'application/vnd.example.payload', digest: payload.digest, size: 64 }],
      });
      expect((await t.client.putManifest(repo, 'artifact', body, OCI_MANIFEST)).status).toBe(201);
      const helmLike = JSON.stringify({
        schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: config.digest, size: 2 },
        layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: payload.digest, size: 64 }],
      });
      expect((await t.client.putManifest(repo, 'chart', helmLike, OCI_MANIFEST)).status).toBe(201);
    });

    it('names the subject in OCI-Subject when a manifest has one', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      const config = await t.client.pushBlob(repo, new TextEncoder().encode('{}'));
      const body = JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.sbom',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: 2 }, layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size },
      });
      const response = await t.client.putManifest(repo, sha256(body), body, OCI_MANIFEST);
      expect(response.status).toBe(201);
      expect(response.headers.get('oci-subject')).toBe(image.digest);
    });

    it('rejects manifests that reference blobs the repository lacks, or misstate their size', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(50));
      const foreign = await t.client.pushBlob(uniqueRepo(), rand(60));
      const manifest = (layer: { digest: string; size: number }) => JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 50 }, layers: [{ mediaType: OCI_LAYER, ...layer }],
      });
      await expectError(await t.client.putManifest(repo, 'a', manifest({ digest: sha256('nope'), size: 4 }), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectError(await t.client.putManifest(repo, 'b', manifest({ digest: foreign.digest, size: 60 }), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectError(await t.client.putManifest(repo, 'c', manifest({ digest: config.digest, size: 51 }), OCI_MANIFEST), 400, 'MANIFEST_INVALID');
    });

    it('rejects bodies that do not parse, unknown media types, and disagreeing media types', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'ok');
      await expectError(await t.client.putManifest(repo, 'x', '{not json', OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', '[]', OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', JSON.stringify({ schemaVersion: 2 }), OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', image.body, 'application/vnd.example.unknown+json'), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', image.body, OCI_INDEX), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', JSON.stringify({ ...image.manifest, mediaType: undefined }), 'application/json'), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x', new Uint8Array([0xff, 0xfe, 0x7b]), OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      expect((await t.client.putManifest(repo, 'generic', image.body, 'application/json')).status).toBe(201);
    });

    it('rejects a manifest over 4 MiB with 413, and invalid tags', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'ok');
      const huge = JSON.stringify({ ...image.manifest, annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } });
      await expectError(await t.client.putManifest(repo, 'huge', huge, OCI_MANIFEST), 413, 'SIZE_INVALID');
      await expectError(await t.client.putManifest(repo, '-bad', image.body, OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      await expectError(await t.client.putManifest(repo, 'x'.repeat(129), image.body, OCI_MANIFEST), 400, 'MANIFEST_INVALID');
    });

    it('rejects a PUT by digest whose body has another digest', async () => {
      const repo = uniqueRepo();
      const image = await t.client.pushImage(repo, 'ok');
      await expectError(await t.client.putManifest(repo, sha256('other'), image.body, OCI_MANIFEST), 400, 'DIGEST_INVALID');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/${sha256('other')}`), 404, 'MANIFEST_UNKNOWN');
    });

    it('answers MANIFEST_UNKNOWN for unknown tags and digests', async () => {
      const repo = uniqueRepo();
      await t.client.pushImage(repo, 'v1');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/v2`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${repo}/manifests/${sha256('x')}`), 404, 'MANIFEST_UNKNOWN');
      expect((await t.client.send('HEAD', `/v2/${repo}/manifests/v2`)).status).toBe(404);
    });
  });
}
