import { describe, expect, it } from 'vitest';
import {
  bodyText, DOCKER_LIST, DOCKER_MANIFEST, expectError, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, rand, sha256, uniqueRepo,
  type Descriptor, type RegistryClient,
} from '../client';
import type { SuiteContext } from '../suite';

/** Rounds of each race through the API; each round has a repository of its own. */
const ROUNDS = 50;
const PARALLEL = 10;
const RACE_TIMEOUT_MS = 120_000;

/**
 * What a manifest references, through the API: index children must be manifests in the
 * repository (class 4), repeats are checked once and thousands of references stay cheap
 * (class 5), nothing a stored manifest uses can be deleted (class 7), and racing writers
 * never leave a listed tag unresolvable or a served manifest with a missing blob (class 8).
 */
export function referenceTests(t: SuiteContext): void {
  describe('references', () => {
    it('answers 400 MANIFEST_BLOB_UNKNOWN for an index whose child is missing or is a blob, and stores nothing', async () => {
      const repo = uniqueRepo();
      const child = await t.client.pushImage(repo, 'amd64');
      const cases = [
        { mediaType: OCI_INDEX, childType: OCI_MANIFEST, digest: sha256('absent'), size: 10 },
        { mediaType: DOCKER_LIST, childType: DOCKER_MANIFEST, digest: sha256('absent'), size: 10 },
        { mediaType: OCI_INDEX, childType: OCI_MANIFEST, digest: child.layers[0]!.digest, size: child.layers[0]!.size }, // a blob
      ];
      for (const [n, bad] of cases.entries()) {
        const body = JSON.stringify({
          schemaVersion: 2, mediaType: bad.mediaType,
          manifests: [
            { mediaType: bad.childType, digest: child.digest, size: child.size, platform: { architecture: 'amd64', os: 'linux' } },
            { mediaType: bad.childType, digest: bad.digest, size: bad.size, platform: { architecture: 'arm64', os: 'linux' } },
          ],
        });
        const error = await expectError(await t.client.putManifest(repo, `multi-${n}`, body, bad.mediaType), 400, 'MANIFEST_BLOB_UNKNOWN');
        expect(error.detail).toMatchObject({ digest: bad.digest });
        expect(error.message).toContain(bad.digest);
        await expectError(await t.client.send('GET', `/v2/${repo}/manifests/multi-${n}`), 404, 'MANIFEST_UNKNOWN');
      }
    });

    it('checks a layer listed 5,000 times once, and stores the manifest', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(40));
      const layer = await t.client.pushBlob(repo, rand(500));
      const manifest = (digest: string) => JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 40 },
        layers: Array.from({ length: 5000 }, () => ({ mediaType: OCI_LAYER, digest, size: 500 })),
      });
      const missing = await expectError(await t.client.putManifest(repo, 'absent', manifest(sha256('absent')), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
      expect(missing.detail).toEqual({ digest: sha256('absent'), missing: 1 });
      const body = manifest(layer.digest);
      const put = await t.client.putManifest(repo, 'repeats', body, OCI_MANIFEST);
      expect(put.status, await bodyText(put)).toBe(201);
      expect(await (await t.client.send('GET', `/v2/${repo}/manifests/repeats`)).text()).toBe(body);
    });

    it('stores a manifest with 150 distinct layers, naming a missing one, and frees them all once it is deleted', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(30));
      const layers = await pushBlobs(t.client, repo, 150);
      const manifest = (list: Descriptor[]) => JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 30 }, layers: list,
      });
      const absent = { mediaType: OCI_LAYER, digest: sha256('not pushed'), size: 3 };
      const refused = await expectError(
        await t.client.putManifest(repo, 'wide', manifest([...layers.slice(0, 100), absent, ...layers.slice(100)]), OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN',
      );
      expect(refused.detail).toEqual({ digest: absent.digest, missing: 1 });
      const body = manifest(layers);
      const put = await t.client.putManifest(repo, 'wide', body, OCI_MANIFEST);
      expect(put.status, await bodyText(put)).toBe(201);
      await expectError(await t.client.send('DELETE', `/v2/${repo}/blobs/${layers[149]!.digest}`), 405, 'UNSUPPORTED');
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/${sha256(body)}`)).status).toBe(202);
      for (const blob of [config, ...layers]) expect((await t.client.send('DELETE', `/v2/${repo}/blobs/${blob.digest}`)).status).toBe(202);
    }, RACE_TIMEOUT_MS);

    it('refuses a manifest with more distinct references than the registry bounds, before looking any up', async () => {
      const repo = uniqueRepo();
      const config = await t.client.pushBlob(repo, rand(30));
      const body = JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 30 },
        layers: Array.from({ length: 10_000 }, (_, i) => ({ mediaType: OCI_LAYER, digest: sha256(`layer ${i}`), size: 1 })),
      });
      const error = await expectError(await t.client.putManifest(repo, 'too-wide', body, OCI_MANIFEST), 400, 'MANIFEST_INVALID');
      expect(error.message).toMatch(/10001 distinct .* at most 10000/);
      expect(error.detail).toEqual({ references: 10_001, limit: 10_000 });
    });

    it('refuses with 405 to delete a blob a manifest uses, naming the manifest, until the manifest is deleted', async () => {
      const repo = uniqueRepo();
      const other = uniqueRepo();
      const image = await t.client.pushImage(repo, 'v1');
      const layer = image.layers[0]!.digest;
      await t.client.pushBlob(other, new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${layer}`)).arrayBuffer()));
      const refused = await t.client.send('DELETE', `/v2/${repo}/blobs/${layer}`);
      expect(refused.headers.get('allow')).toBe('GET, HEAD');
      const error = await expectError(refused, 405, 'UNSUPPORTED');
      expect(error.message).toContain(image.digest);
      expect(error.detail).toEqual({ digest: layer, manifest: image.digest });
      expect((await t.client.send('GET', `/v2/${repo}/manifests/v1`)).status).toBe(200);
      expect((await t.client.send('GET', `/v2/${repo}/blobs/${layer}`)).status).toBe(200);
      expect((await t.client.send('DELETE', `/v2/${other}/blobs/${layer}`)).status).toBe(202); // unused there
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/${image.digest}`)).status).toBe(202);
      expect((await t.client.send('DELETE', `/v2/${repo}/blobs/${layer}`)).status).toBe(202);
      expect((await t.client.send('DELETE', `/v2/${repo}/blobs/${image.config.digest}`)).status).toBe(202);
    });

    it('refuses with 405 to delete a manifest an index lists, naming the index, until the index is deleted', async () => {
      const repo = uniqueRepo();
      const child = await t.client.pushImage(repo, 'amd64');
      const index = JSON.stringify({
        schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.size, platform: { architecture: 'amd64', os: 'linux' } }],
      });
      expect((await t.client.putManifest(repo, 'latest', index, OCI_INDEX)).status).toBe(201);
      const error = await expectError(await t.client.send('DELETE', `/v2/${repo}/manifests/${child.digest}`), 405, 'UNSUPPORTED');
      expect(error.message).toContain(sha256(index));
      expect(error.detail).toEqual({ digest: child.digest, index: sha256(index) });
      expect((await t.client.send('GET', `/v2/${repo}/manifests/amd64`)).status).toBe(200);
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/latest`)).status).toBe(202); // untagging does not free it
      await expectError(await t.client.send('DELETE', `/v2/${repo}/manifests/${child.digest}`), 405, 'UNSUPPORTED');
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/${sha256(index)}`)).status).toBe(202);
      expect((await t.client.send('DELETE', `/v2/${repo}/manifests/${child.digest}`)).status).toBe(202);
    });
  });

  describe('races through the API', () => {
    it(`never leaves a listed tag unpullable when a tag PUT races a DELETE of its manifest (${ROUNDS} rounds)`, async () => {
      await inRounds(async () => {
        const repo = uniqueRepo('race');
        const image = await t.client.pushImage(repo, 'v0');
        const [put, removed] = await Promise.all([
          t.client.putManifest(repo, 'v1', image.body, OCI_MANIFEST),
          t.client.send('DELETE', `/v2/${repo}/manifests/${image.digest}`),
        ]);
        expect(put.status, await bodyText(put)).toBe(201);
        expect(removed.status, await bodyText(removed)).toBe(202);
        await expectPullable(t.client, repo, [image]);
      });
    }, RACE_TIMEOUT_MS);

    it(`never serves a manifest whose blob is gone when a manifest PUT races a DELETE of the blob (${ROUNDS} rounds)`, async () => {
      await inRounds(async () => {
        const repo = uniqueRepo('race');
        const config = await t.client.pushBlob(repo, rand(20));
        const layer = await t.client.pushBlob(repo, rand(200));
        const body = JSON.stringify({
          schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: config.digest, size: 20 },
          layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: 200 }],
        });
        const [put, removed] = await Promise.all([
          t.client.putManifest(repo, 'latest', body, OCI_MANIFEST),
          t.client.send('DELETE', `/v2/${repo}/blobs/${layer.digest}`),
        ]);
        const outcome = [put.status, removed.status];
        expect([[201, 405], [400, 202]], `${await bodyText(put)} ${await bodyText(removed)}`).toContainEqual(outcome);
        await expectPullable(t.client, repo, [{ digest: sha256(body), config, layers: [layer] }]);
      });
    }, RACE_TIMEOUT_MS);
  });
}

async function inRounds(round: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next++ < ROUNDS) await round();
  }));
}

async function pushBlobs(client: RegistryClient, repo: string, count: number): Promise<Descriptor[]> {
  const blobs: Descriptor[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let i = next++; i < count; i = next++) {
      const blob = await client.pushBlob(repo, rand(10 + i));
      blobs[i] = { mediaType: OCI_LAYER, digest: blob.digest, size: blob.size };
    }
  }));
  return blobs;
}

/**
 * The invariants through the API: every tag tags/list shows GETs 200, and every one of
 * `images` the registry serves has its config and layers readable (GET and HEAD).
 */
async function expectPullable(client: RegistryClient, repo: string, images: { digest: string; config: Descriptor; layers: Descriptor[] }[]): Promise<void> {
  const listed = await client.send('GET', `/v2/${repo}/tags/list`);
  const tags = listed.status === 200 ? ((await listed.json()) as { tags: string[] | null }).tags ?? [] : [];
  for (const tag of tags) {
    const get = await client.send('GET', `/v2/${repo}/manifests/${tag}`);
    expect(get.status, `tag ${tag} is listed but GET answers ${get.status}`).toBe(200);
  }
  for (const image of images) {
    if ((await client.send('HEAD', `/v2/${repo}/manifests/${image.digest}`)).status !== 200) continue;
    for (const blob of [image.config, ...image.layers]) {
      for (const method of ['GET', 'HEAD']) {
        const response = await client.send(method, `/v2/${repo}/blobs/${blob.digest}`);
        expect(response.status, `manifest ${image.digest} is served but ${method} of its blob ${blob.digest} answers ${response.status}`).toBe(200);
      }
    }
  }
}
