import type { Services } from '../context';
import { MANIFEST_KINDS } from '../manifest/media-types';

/**
 * What the browse UI shows of a stored manifest: its compressed size, its platforms and, for an
 * image, what its config says. Read from the stored manifest and config blob (never through a
 * pull by tag, which would record a pull time and skew retention's `notPulledForDays`).
 */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageConfigSummary {
  created?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  workingDir?: string;
  user?: string;
}

export interface ManifestSummary {
  digest: string;
  mediaType: string;
  kind: 'image' | 'index' | 'unknown';
  /** Bytes of the distinct blobs (config and compressed layers) it and its child manifests use. */
  size: number;
  /** False when an index has more children than MAX_CHILDREN_MEASURED: `size` is then a lower bound. */
  sizeComplete: boolean;
  platforms: Platform[];
  artifactType?: string;
  config?: ImageConfigSummary;
}

/** Image configs are a few KiB; a bigger one is not read for a summary. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** An index's size is measured over at most this many child manifests (each is a read); `sizeComplete` says whether it was all. */
export const MAX_CHILDREN_MEASURED = 64;
const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

interface DescriptorJson { digest?: unknown; size?: unknown; mediaType?: unknown; platform?: unknown }
interface ManifestJson { mediaType?: unknown; artifactType?: unknown; config?: DescriptorJson; layers?: DescriptorJson[]; manifests?: DescriptorJson[] }

/** Summarises the manifest `digest` of `repository`; undefined when it is not stored there. */
export async function summarizeManifest(services: Services, repository: string, digest: string, withConfig = false): Promise<ManifestSummary | undefined> {
  const record = await services.metadata.getManifest(repository, digest);
  if (!record) return undefined;
  const json = parseJson(record.body) as ManifestJson | undefined;
  const kind = MANIFEST_KINDS[record.mediaType] ?? 'unknown';
  const artifactType = typeof json?.artifactType === 'string' ? json.artifactType
    : typeof json?.config?.mediaType === 'string' && !CONFIG_TYPES.has(json.config.mediaType) ? json.config.mediaType : undefined;
  const summary: ManifestSummary = { digest, mediaType: record.mediaType, kind, size: 0, sizeComplete: true, platforms: [], ...(artifactType ? { artifactType } : {}) };
  if (!json) return summary;
  if (kind === 'index') {
    const children = json.manifests ?? [];
    for (const child of children) {
      const platform = platformOf(child.platform);
      // Attestation manifests (buildkit) carry the platform unknown/unknown.
      if (platform && platform.os !== 'unknown') summary.platforms.push(platform);
    }
    const measured = children.slice(0, MAX_CHILDREN_MEASURED).map((child) => child.digest).filter((digest): digest is string => typeof digest === 'string');
    const records = await Promise.all(measured.map((child) => services.metadata.getManifest(repository, child)));
    const blobs = new Map<string, number>();
    for (const record of records) for (const [blob, size] of imageBlobs(record ? parseJson(record.body) as ManifestJson | undefined : undefined)) blobs.set(blob, size);
    summary.size = sum(blobs.values());
    summary.sizeComplete = children.length <= MAX_CHILDREN_MEASURED;
    return summary;
  }
  summary.size = sum(imageBlobs(json).values());
  const config = json.config;
  if (kind === 'image' && typeof config?.digest === 'string' && typeof config.mediaType === 'string' && CONFIG_TYPES.has(config.mediaType)) {
    const parsed = await readConfig(services, config.digest);
    const platform = platformOf(parsed);
    if (platform) summary.platforms.push(platform);
    if (withConfig && parsed) summary.config = configSummary(parsed);
  }
  return summary;
}

/** The config and layers of an image manifest, by digest. */
function imageBlobs(json: ManifestJson | undefined): Map<string, number> {
  const blobs = new Map<string, number>();
  for (const descriptor of [json?.config, ...(json?.layers ?? [])]) {
    if (typeof descriptor?.digest === 'string' && typeof descriptor.size === 'number') blobs.set(descriptor.digest, descriptor.size);
  }
  return blobs;
}

async function readConfig(services: Services, digest: string): Promise<Record<string, unknown> | undefined> {
  const record = await services.metadata.getBlob(digest);
  if (!record || record.size > MAX_CONFIG_BYTES) return undefined;
  const { body } = await services.blobs.read(record.location);
  const bytes = new Uint8Array(await new Response(body).arrayBuffer());
  const parsed = parseJson(bytes);
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
}

function configSummary(config: Record<string, unknown>): ImageConfigSummary {
  const inner = (typeof config.config === 'object' && config.config !== null ? config.config : {}) as Record<string, unknown>;
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined);
  const summary: ImageConfigSummary = {};
  if (typeof config.created === 'string') summary.created = config.created;
  const entrypoint = strings(inner.Entrypoint);
  if (entrypoint) summary.entrypoint = entrypoint;
  const cmd = strings(inner.Cmd);
  if (cmd) summary.cmd = cmd;
  const env = strings(inner.Env);
  if (env) summary.env = env;
  if (typeof inner.Labels === 'object' && inner.Labels !== null) {
    summary.labels = Object.fromEntries(Object.entries(inner.Labels).filter(([, value]) => typeof value === 'string'));
  }
  if (typeof inner.WorkingDir === 'string' && inner.WorkingDir) summary.workingDir = inner.WorkingDir;
  if (typeof inner.User === 'string' && inner.User) summary.user = inner.User;
  return summary;
}

function platformOf(value: unknown): Platform | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { os, architecture, variant } = value as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return { os, architecture, ...(typeof variant === 'string' && variant ? { variant } : {}) };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
