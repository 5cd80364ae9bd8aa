import { expect } from 'vitest';
import { hexOf, layoutBlobs, layoutDirFor, sha256, type E2EContext } from '../e2e-context';

/** podman pushes an image, pulls it back after removing it, and pushes a two-platform list. */
export async function podmanPushPull(ctx: E2EContext): Promise<void> {
  const { podman, skopeo, registry, images } = ctx;
  const image = images.podman;
  const name = `${registry.host}/e2e/podman:v1`;

  const id = await podman.pull(`oci:${image.layoutDir}:v1`);
  expect(id).toBe(hexOf(image.config.digest));
  await podman.tag(id, name);
  const pushed = await podman.push(name);
  expect((await skopeo.inspect(`docker://${name}`)).Digest).toBe(pushed);

  await podman.removeImages(id);
  expect(await podman.imageNames()).not.toContain(name);
  await podman.pull(name);
  const pulled = await podman.inspectImage(name);
  expect(pulled.Digest).toBe(pushed);
  expect(pulled.Id).toBe(hexOf(image.config.digest));
  expect(pulled.RootFS.Layers).toEqual(image.layers.map((layer) => layer.diffId));
}

export async function podmanManifestList(ctx: E2EContext): Promise<void> {
  const { podman, skopeo, registry, images } = ctx;
  const { multi } = images;
  const list = 'localhost/e2e-multi:v1';
  const destination = `${registry.host}/e2e/multi:v1`;

  await podman.manifestCreate(list);
  for (const child of multi.children) await podman.manifestAdd(list, `oci:${multi.layoutDir}:${child.refName}`);
  const indexDigest = await podman.manifestPush(list, `docker://${destination}`);

  const raw = await skopeo.inspectRaw(`docker://${destination}`);
  expect(sha256(raw)).toBe(indexDigest);
  const index = JSON.parse(raw) as { manifests: Array<{ digest: string; platform?: { os: string; architecture: string } }> };
  expect(index.manifests.map((entry) => `${entry.platform?.os}/${entry.platform?.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
  // podman keeps each platform's manifest as built, so the index points at the built digests.
  expect(index.manifests.map((entry) => entry.digest).sort()).toEqual(multi.children.map((child) => child.manifest.digest).sort());

  // Each platform pulls back as built: podman for arm64 (not this machine's), skopeo for all.
  const arm64 = multi.children.find((child) => child.platform.architecture === 'arm64')!;
  await podman.pull(destination, { arch: 'arm64' });
  const pulled = await podman.inspectImage(destination);
  // Pulled through the index: podman records the index digest and the platform's digest.
  expect(pulled.Digest).toBe(indexDigest);
  expect(pulled.RepoDigests).toContain(`${registry.host}/e2e/multi@${arm64.manifest.digest}`);
  expect(pulled.Id).toBe(hexOf(arm64.config.digest));
  expect(pulled.Architecture).toBe('arm64');
  expect(pulled.RootFS.Layers).toEqual(arm64.layers.map((layer) => layer.diffId));

  const pulledDir = await layoutDirFor(ctx, 'multi');
  expect(await skopeo.copy(`docker://${destination}`, `oci:${pulledDir}:v1`, { all: true, preserveDigests: true })).toBe(indexDigest);
  expect(await layoutBlobs(pulledDir)).toEqual([indexDigest, ...multi.children.flatMap((child) => child.digests)].sort());
}
