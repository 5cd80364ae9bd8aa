import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { blobPath } from '../../../harness/oci-image';
import { authHeaders } from '../../support/registry-target';
import { layoutBlobs, layoutDirFor, layoutRef, sha256, type E2EContext } from '../e2e-context';

/**
 * skopeo copies a layout the test built into a multi-segment repository, inspects it,
 * lists tags, copies it back out digest for digest, and deletes it.
 */
export async function skopeoRoundTrip(ctx: E2EContext): Promise<void> {
  const { skopeo, registry, images } = ctx;
  const { api, apiNext } = images;
  const repository = `docker://${registry.host}/team/app/api`;

  const pushed = await skopeo.copy(`oci:${api.layoutDir}:v1`, `${repository}:v1`, { preserveDigests: true });
  expect(pushed).toBe(api.manifest.digest);
  // A second tag on the same manifest: its blobs are already there.
  expect(await skopeo.copy(`oci:${api.layoutDir}:v1`, `${repository}:v2`, { preserveDigests: true })).toBe(api.manifest.digest);
  expect(await skopeo.copy(`oci:${apiNext.layoutDir}:v3`, `${repository}:v3`, { preserveDigests: true })).toBe(apiNext.manifest.digest);

  const inspected = await skopeo.inspect(`${repository}:v1`);
  expect(inspected.Digest).toBe(api.manifest.digest);
  expect(inspected.Layers).toEqual(api.layers.map((layer) => layer.descriptor.digest));
  const raw = await skopeo.inspectRaw(`${repository}:v1`);
  expect(sha256(raw)).toBe(api.manifest.digest);
  expect(raw).toBe(await readFile(blobPath(api.layoutDir, api.manifest.digest), 'utf8'));

  expect((await skopeo.listTags(repository)).sort()).toEqual(['v1', 'v2', 'v3']);

  // Out again into a fresh layout: every blob and the manifest come back unchanged.
  const pulledDir = await layoutDirFor(ctx, 'api');
  expect(await skopeo.copy(`${repository}:v1`, `oci:${pulledDir}:v1`, { preserveDigests: true })).toBe(api.manifest.digest);
  expect(await layoutRef(pulledDir, 'v1')).toBe(api.manifest.digest);
  expect(await layoutBlobs(pulledDir)).toEqual([...api.digests].sort());

  // Deleting by v1 deletes the manifest, so v2 (same manifest) goes too; v3 stays.
  await skopeo.delete(`${repository}:v1`);
  for (const tag of ['v1', 'v2']) {
    await expect(skopeo.inspect(`${repository}:${tag}`), `${tag} after delete`).rejects.toThrow(/manifest unknown|not found|404/i);
    const head = await fetch(`${registry.url}/v2/team/app/api/manifests/${tag}`, { method: 'HEAD', headers: authHeaders(registry) });
    expect(head.status, `HEAD ${tag} after delete`).toBe(404);
  }
  const byDigest = await fetch(`${registry.url}/v2/team/app/api/manifests/${api.manifest.digest}`, { method: 'HEAD', headers: authHeaders(registry) });
  expect(byDigest.status, 'HEAD by digest after delete').toBe(404);
  expect(await skopeo.listTags(repository)).toEqual(['v3']);
  expect((await skopeo.inspect(`${repository}:v3`)).Digest).toBe(apiNext.manifest.digest);
}
