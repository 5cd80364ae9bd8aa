import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blobPath, buildOciImage, buildOciIndex, KiB, LINUX_AMD64, LINUX_ARM64, MiB, smallLayers, writeDockerArchive,
} from '../../harness/oci-image';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nimbus-oci-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

describe('oci-image builder', () => {
  it('gives the same digests for the same seed, and other digests for another seed', async () => {
    const spec = { seed: 'same', layerSizes: [0, 3 * KiB, 300 * KiB] };
    const first = await buildOciImage(join(dir, 'a'), spec, 'v1');
    const second = await buildOciImage(join(dir, 'b'), spec, 'v1');
    const other = await buildOciImage(join(dir, 'c'), { ...spec, seed: 'other' }, 'v1');
    expect(second.digests).toEqual(first.digests);
    expect(first.digests).toHaveLength(5);
    const otherLayers = new Set(other.layers.map((layer) => layer.descriptor.digest));
    for (const layer of first.layers) expect(otherLayers.has(layer.descriptor.digest)).toBe(false);
  });

  it('writes a valid OCI layout: every blob hashes to its name, and the config lists the diff ids', async () => {
    const image = await buildOciImage(join(dir, 'layout'), { seed: 'layout', layerSizes: smallLayers(3, 2 * KiB) }, 'tag-1');
    expect(await readJson(join(image.layoutDir, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = await readJson<{ manifests: Array<{ digest: string; annotations: Record<string, string> }> }>(join(image.layoutDir, 'index.json'));
    expect(index.manifests).toEqual([expect.objectContaining({ digest: image.manifest.digest, annotations: { 'org.opencontainers.image.ref.name': 'tag-1' } })]);
    const names = await readdir(join(image.layoutDir, 'blobs', 'sha256'));
    expect(names.map((name) => `sha256:${name}`).sort()).toEqual([...image.digests].sort());
    for (const digest of image.digests) expect(await sha256File(blobPath(image.layoutDir, digest))).toBe(digest);

    const manifest = await readJson<{ config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> }>(blobPath(image.layoutDir, image.manifest.digest));
    expect(manifest.config).toMatchObject({ digest: image.config.digest, size: image.config.size });
    expect(manifest.layers.map((layer) => layer.digest)).toEqual(image.layers.map((layer) => layer.descriptor.digest));
    const config = await readJson<{ rootfs: { diff_ids: string[] }; architecture: string }>(blobPath(image.layoutDir, image.config.digest));
    expect(config.rootfs.diff_ids).toEqual(image.layers.map((layer) => layer.diffId));
    expect(config.architecture).toBe('amd64');
  });

  it('builds a two-platform index whose children share no layer', async () => {
    const built = await buildOciIndex(join(dir, 'index'), { seed: 'multi', layerSizes: [KiB, 2 * KiB], platforms: [LINUX_AMD64, LINUX_ARM64] }, 'v1');
    const index = await readJson<{ manifests: Array<{ digest: string; platform: { architecture: string } }> }>(blobPath(built.layoutDir, built.index.digest));
    expect(index.manifests.map((entry) => [entry.digest, entry.platform.architecture])).toEqual(
      built.children.map((child) => [child.manifest.digest, child.platform.architecture]),
    );
    const [amd64, arm64] = built.children.map((child) => new Set(child.layers.map((layer) => layer.descriptor.digest)));
    for (const digest of amd64!) expect(arm64!.has(digest)).toBe(false);
    expect(built.children.map((child) => child.refName)).toEqual(['v1-linux-amd64', 'v1-linux-arm64']);
  });

  it('writes a docker-archive whose layer tars hash to the diff ids', async () => {
    const image = await buildOciImage(join(dir, 'docker'), { seed: 'docker', layerSizes: [KiB, 64 * KiB] }, 'v1');
    const archive = join(dir, 'docker.tar');
    await writeDockerArchive(image, archive, ['e2e/docker:v1']);
    const files = new Map<string, { digest: string; text: string }>();
    const reader = extract();
    const done = new Promise<void>((resolve, reject) => {
      reader.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk) => chunks.push(chunk as Buffer));
        stream.on('end', () => {
          const bytes = Buffer.concat(chunks);
          files.set(header.name, { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, text: bytes.toString() });
          next();
        });
      });
      reader.on('finish', resolve);
      reader.on('error', reject);
    });
    createReadStream(archive).pipe(reader);
    await done;
    expect(JSON.parse(files.get('manifest.json')!.text)).toEqual([{
      Config: `${image.config.digest.slice(7)}.json`,
      RepoTags: ['e2e/docker:v1'],
      Layers: image.layers.map((layer) => `${layer.diffId.slice(7)}/layer.tar`),
    }]);
    expect(files.get(`${image.config.digest.slice(7)}.json`)?.digest).toBe(image.config.digest);
    for (const layer of image.layers) expect(files.get(`${layer.diffId.slice(7)}/layer.tar`)?.digest).toBe(layer.diffId);
  });

  it('streams a 500 MiB layer to disk without holding it in memory', { timeout: 120_000 }, async () => {
    const before = process.resourceUsage().maxRSS * 1024;
    const image = await buildOciImage(join(dir, 'huge'), { seed: 'huge', layerSizes: [500 * MiB] }, 'v1');
    const grown = process.resourceUsage().maxRSS * 1024 - before;
    expect(image.layers[0]!.uncompressedSize).toBeGreaterThan(500 * MiB);
    expect(image.layers[0]!.descriptor.size).toBeGreaterThan(500 * MiB);
    expect(grown).toBeLessThan(150 * MiB);
  });
});
