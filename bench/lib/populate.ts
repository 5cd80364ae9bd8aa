import { createHash } from 'node:crypto';
import type { FetchLike } from './blob-upload';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export const TAGS_REPOSITORY = 'bench/tags';
export const tagName = (index: number) => `t${String(index).padStart(5, '0')}`;
export const repositoryName = (index: number) => `bench/r${String(index).padStart(5, '0')}`;

async function ok(response: Promise<Response>, what: string): Promise<void> {
  const answer = await response;
  if (answer.status >= 300) throw new Error(`${what}: HTTP ${answer.status} ${(await answer.text()).slice(0, 300)}`);
  await answer.body?.cancel();
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
async function forEachLimited(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * Fills a registry over the Distribution API: one small image, `tags` tags of it in
 * TAGS_REPOSITORY, and more repositories (blob mounted, manifest pushed) until the catalog
 * holds `repositories` in all.
 */
export async function populate(fetch: FetchLike, base: string, counts: { tags: number; repositories: number }, concurrency = 8): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.byteLength }, layers: [],
  }));
  const opened = await fetch(new Request(`${base}/v2/${TAGS_REPOSITORY}/blobs/uploads/`, { method: 'POST' }));
  if (opened.status !== 202) throw new Error(`open upload: HTTP ${opened.status}`);
  const location = new URL(opened.headers.get('location')!, base);
  location.searchParams.set('digest', configDigest);
  await ok(fetch(new Request(location, { method: 'PUT', body: config, headers: { 'content-type': 'application/octet-stream' } })), 'config blob');

  const putManifest = (repository: string, reference: string) => ok(fetch(new Request(`${base}/v2/${repository}/manifests/${reference}`, {
    method: 'PUT', body: manifest, headers: { 'content-type': OCI_MANIFEST },
  })), `manifest ${repository}:${reference}`);
  await forEachLimited(counts.tags, concurrency, (index) => putManifest(TAGS_REPOSITORY, tagName(index)));
  await forEachLimited(counts.repositories - 1, concurrency, async (index) => {
    const repository = repositoryName(index);
    await ok(fetch(new Request(`${base}/v2/${repository}/blobs/uploads/?mount=${configDigest}&from=${TAGS_REPOSITORY}`, { method: 'POST' })), `mount into ${repository}`);
    await putManifest(repository, 'v1');
  });
}
