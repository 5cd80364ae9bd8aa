import { join } from 'node:path';
import { layerEntries, type LayerContent } from './image/layer-content';
import { LayoutWriter, type Descriptor, type WrittenLayer } from './image/layout-writer';
import { tarStream } from './image/tar';

export { writeDockerArchive } from './image/docker-archive';
export type { Descriptor } from './image/layout-writer';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  /** The same seed and spec always give the same digests. */
  seed: string;
  /** Size in bytes of the pseudo-random file in each layer, bottom layer first. */
  layerSizes: readonly number[];
  /** @default linux/amd64 */
  platform?: Platform;
  /** gzip level of the layer blobs. @default 0 (random bytes do not compress) */
  gzipLevel?: number;
}

export interface BuiltLayer extends WrittenLayer {
  content: LayerContent;
}

export interface BuiltImage {
  layoutDir: string;
  /** Name in the layout's index.json: copy it with `oci:<layoutDir>:<refName>`. */
  refName: string;
  platform: Platform;
  manifest: Descriptor;
  config: Descriptor;
  layers: BuiltLayer[];
  /** Every digest the image is made of: manifest, config, then layers. */
  digests: string[];
}

export interface BuiltIndex {
  layoutDir: string;
  refName: string;
  index: Descriptor;
  /** One image per platform, each also named `<refName>-<os>-<architecture>` in the layout. */
  children: BuiltImage[];
  /** The index digest, then every child's digests. */
  digests: string[];
}

export const LINUX_AMD64: Platform = { os: 'linux', architecture: 'amd64' };
export const LINUX_ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** `count` layers of `size` bytes each: many small layers, as benchmarks want. */
export function smallLayers(count: number, size = 4 * KiB): number[] {
  return Array.from({ length: count }, () => size);
}

/** Builds a single-platform image as an OCI image layout in `layoutDir`. */
export async function buildOciImage(layoutDir: string, spec: ImageSpec, refName = 'latest'): Promise<BuiltImage> {
  const writer = new LayoutWriter(layoutDir);
  await writer.init();
  const image = await writeImage(writer, spec, refName);
  await writer.writeIndexJson([{ descriptor: image.manifest, refName }]);
  return image;
}

/**
 * Builds a multi-platform image: an OCI image index over one image per platform, each
 * with its own layers (seeded by platform). Children are named in index.json too, so a
 * client can take one platform (`oci:<dir>:<refName>-linux-arm64`).
 */
export async function buildOciIndex(
  layoutDir: string,
  spec: Omit<ImageSpec, 'platform'> & { platforms: readonly Platform[] },
  refName = 'latest',
): Promise<BuiltIndex> {
  const writer = new LayoutWriter(layoutDir);
  await writer.init();
  const children: BuiltImage[] = [];
  for (const platform of spec.platforms) {
    children.push(await writeImage(writer, { ...spec, platform }, `${refName}-${platform.os}-${platform.architecture}`));
  }
  const index = await writer.writeJson(OCI_INDEX, {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((child) => ({ ...child.manifest, platform: child.platform })),
  });
  await writer.writeIndexJson([
    { descriptor: index, refName },
    ...children.map((child) => ({ descriptor: child.manifest, refName: child.refName })),
  ]);
  return { layoutDir, refName, index, children, digests: [index.digest, ...children.flatMap((child) => child.digests)] };
}

const CREATED = '2024-01-01T00:00:00Z';

async function writeImage(writer: LayoutWriter, spec: ImageSpec, refName: string): Promise<BuiltImage> {
  const platform = spec.platform ?? LINUX_AMD64;
  const platformTag = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('-');
  const layers: BuiltLayer[] = [];
  for (const [index, size] of spec.layerSizes.entries()) {
    const content: LayerContent = {
      seed: `${spec.seed}/${platformTag}/layer-${index}`,
      path: `nimbus/${platformTag}/layer-${String(index).padStart(3, '0')}.bin`,
      size,
    };
    const written = await writer.writeLayer(tarStream(layerEntries(content)), spec.gzipLevel);
    layers.push({ ...written, content });
  }
  const config = await writer.writeJson(OCI_CONFIG, {
    created: CREATED,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      Labels: { 'org.opencontainers.image.title': `nimbus test image ${spec.seed}` },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((layer) => ({ created: CREATED, created_by: `nimbus test layer ${layer.content.path}` })),
  });
  const manifest = await writer.writeJson(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: layers.map((layer) => layer.descriptor),
  });
  return {
    layoutDir: writer.dir,
    refName,
    platform,
    manifest,
    config,
    layers,
    digests: [manifest.digest, config.digest, ...layers.map((layer) => layer.descriptor.digest)],
  };
}

/** Path of a blob of a built image inside its layout. */
export function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}
