import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, buildOciImage, KiB, type BuiltImage } from '../../harness/oci-image';
import { DockerDaemon } from '../../harness/clients/docker';
import { Podman } from '../support/clients/podman';
import { localNimbusTarget, type RunningTarget } from '../support/registry-target';
import { pushBlob } from '../support/cache-images';

/** Copies a built OCI layout image to a registry over HTTP (config and layers, then the manifest). */
async function pushLayout(url: string, repository: string, tag: string, image: BuiltImage): Promise<void> {
  for (const blob of [image.config, ...image.layers.map((layer) => layer.descriptor)]) {
    await pushBlob(url, repository, new Uint8Array(await readFile(blobPath(image.layoutDir, blob.digest))));
  }
  const manifest = await readFile(blobPath(image.layoutDir, image.manifest.digest));
  const put = await fetch(`${url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': image.manifest.mediaType } });
  expect(put.status).toBe(201);
}

async function catalog(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;
}

/**
 * Real clients through the pull-through cache (issue 15): podman pulls a prefixed repository,
 * and a docker daemon whose registry-mirrors is Nimbus pulls a Docker Hub name (`app:1`, which
 * the daemon asks its mirror for as `library/app`) served by the root mirror rule. The upstream
 * (a second Nimbus standing in for Docker Hub) holds images built here: nothing comes from the internet.
 */
describe('pull-through cache with real clients', () => {
  let upstream: RunningTarget;
  let registry: RunningTarget;
  let dir: string;
  let image: BuiltImage;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-cache-clients-'));
    [upstream, registry, image] = await Promise.all([
      localNimbusTarget().start(), localNimbusTarget().start(), buildOciImage(join(dir, 'layout'), { seed: `cache-${Date.now()}`, layerSizes: [64 * KiB, 16 * KiB] }),
    ]);
    await Promise.all([pushLayout(upstream.url, 'team/app', '1', image), pushLayout(upstream.url, 'library/app', '1', image)]);
    for (const rule of [{ prefix: 'mirror', upstream: upstream.url }, { prefix: '', upstream: upstream.url }]) {
      const added = await fetch(`${registry.url}/v2/_nimbus/cache`, { method: 'POST', body: JSON.stringify(rule), headers: { 'content-type': 'application/json' } });
      expect(added.status, await added.text()).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([upstream?.stop(), registry?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('podman pulls <nimbus>/mirror/team/app:1 from the upstream through the cache', async () => {
    const podman = await Podman.create(join(dir, 'podman'));
    await podman.pull(`${registry.host}/mirror/team/app:1`);
    expect((await podman.inspectImage(`${registry.host}/mirror/team/app:1`)).Digest).toBe(image.manifest.digest);
    expect(await catalog(registry.url)).toContain('mirror/team/app');
  }, 60_000);

  it('a docker daemon with registry-mirrors set to Nimbus pulls app:1 through the root mirror', async () => {
    const daemon = await DockerDaemon.start({ daemonConfig: { 'registry-mirrors': [registry.url] } });
    try {
      const docker = await daemon.client();
      await docker.pull('app:1');
      const pulled = await docker.inspectImage('app:1');
      expect(pulled.RootFS.Layers).toHaveLength(image.layers.length);
      // The daemon asked its mirror for library/app, which the root rule filled from upstream.
      expect(await catalog(registry.url)).toContain('library/app');
    } finally {
      await daemon.stop();
    }
  }, 90_000);
});
