import { expect } from 'vitest';
import { MiB } from '../../../harness/oci-image';
import { authHeaders } from '../../support/registry-target';
import { sha256, type E2EContext } from '../e2e-context';

/**
 * docker (a private dockerd) pushes a 50 MiB layer, forgets the image and pulls it back,
 * then pushes it to a second repository, which mounts the layers instead of uploading them.
 */
export async function dockerBigLayer(ctx: E2EContext): Promise<void> {
  const { docker, skopeo, registry, images } = ctx;
  const { big } = images;
  const name = `${registry.host}/e2e/docker:big`;

  expect(await docker.load(big.dockerArchive)).toContain(big.archiveTag);
  expect((await docker.inspectImage(big.archiveTag)).Id).toBe(big.config.digest);
  await docker.tag(big.archiveTag, name);
  const pushed = await docker.push(name);

  const raw = await skopeo.inspectRaw(`docker://${name}`);
  const manifest = JSON.parse(raw) as { layers: Array<{ size: number }> };
  expect(manifest.layers).toHaveLength(big.layers.length);
  // Random bytes do not compress: the big layer arrived whole.
  expect(manifest.layers[1]!.size).toBeGreaterThanOrEqual(50 * MiB);
  const head = await fetch(`${registry.url}/v2/e2e/docker/manifests/big`, {
    method: 'HEAD',
    headers: { ...authHeaders(registry), Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  });
  expect(head.status).toBe(200);
  expect(head.headers.get('docker-content-digest')).toBe(pushed);

  await docker.removeImages(name, big.archiveTag);
  expect(await docker.imageNames()).not.toContain(name);
  await docker.pull(name);
  const pulled = await docker.inspectImage(name);
  expect(pulled.Id).toBe(big.config.digest);
  expect(pulled.RootFS.Layers).toEqual(big.layers.map((layer) => layer.diffId));
  expect(pulled.RepoDigests).toContain(`${registry.host}/e2e/docker@${pushed}`);

  // The same image into a second repository: docker offers to mount the layers it already pushed.
  const mirror = `${registry.host}/e2e/docker-mirror:big`;
  await docker.tag(name, mirror);
  expect(await docker.push(mirror)).toBe(pushed);
  expect(sha256(await skopeo.inspectRaw(`docker://${mirror}`))).toBe(pushed);
}
