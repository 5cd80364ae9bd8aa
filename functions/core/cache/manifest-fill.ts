import { RegistryError } from '../errors';
import { tryParseDigest, type DigestAlgorithm } from '../digest';
import type { Clock, Hashing, Logger, MetadataStore } from '../ports';
import type { ManifestRecord } from '../records';
import { parseManifest } from '../manifest/parse';
import { referencesOf } from '../manifest/references';
import type { CacheMatch } from './rules';
import { MANIFEST_ACCEPT, readLimitedBytes, type UpstreamClient } from './upstream';

export interface ManifestFillDeps {
  metadata: MetadataStore;
  hashing: Hashing;
  clock: Clock;
  logger: Logger;
  upstream: UpstreamClient;
  maxManifestBytes: number;
}

/** The upstream's answer to a HEAD of a tag: its digest, or that it has no such tag. */
export async function headUpstreamTag(deps: ManifestFillDeps, match: CacheMatch, tag: string): Promise<string | 'missing' | undefined> {
  const response = await deps.upstream.request(match.rule, match.upstreamRepository, `manifests/${tag}`, 'HEAD', MANIFEST_ACCEPT);
  await response.body?.cancel();
  if (response.status === 404) return 'missing';
  if (!response.ok) throw upstreamRefused(match, response.status, `manifest ${tag}`);
  const digest = response.headers.get('docker-content-digest');
  return digest && tryParseDigest(digest) ? digest : undefined;
}

/**
 * GETs a manifest from upstream (by tag or digest), verifies its digest (the one asked for, and
 * the one the upstream announced) and that it is a manifest we store, and stores it, tagged when
 * asked by tag. What it references is recorded but filled only when clients ask for it
 * (deferReferences): blobs on their GET, an index's children on their GET by digest.
 * Returns undefined when the upstream has no such manifest.
 */
export async function fillManifest(
  deps: ManifestFillDeps, match: CacheMatch, repository: string, reference: { tag?: string; digest?: string },
): Promise<ManifestRecord | undefined> {
  const name = reference.digest ?? reference.tag!;
  const response = await deps.upstream.request(match.rule, match.upstreamRepository, `manifests/${name}`, 'GET', MANIFEST_ACCEPT);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw upstreamRefused(match, response.status, `manifest ${name}`);
  }
  const body = await readLimitedBytes(response, deps.maxManifestBytes);
  if (!body) throw new RegistryError('UNAVAILABLE', `upstream manifest ${name} is larger than ${deps.maxManifestBytes} bytes`);
  const announced = tryParseDigest(response.headers.get('docker-content-digest') ?? '');
  const expected = reference.digest ?? announced?.value;
  const algorithm: DigestAlgorithm = tryParseDigest(expected ?? '')?.algorithm ?? 'sha256';
  const hasher = await deps.hashing.oneShot(algorithm);
  hasher.update(body);
  const digest = `${algorithm}:${hasher.digest()}`;
  if (expected !== undefined && digest !== expected) {
    throw new RegistryError('UNAVAILABLE', `upstream sent a manifest with digest ${digest} for ${name} (expected ${expected}); nothing was stored`);
  }
  const parsed = parseUpstream(body, response.headers.get('content-type'), name);
  const record: ManifestRecord = { digest, mediaType: parsed.mediaType, size: body.byteLength, body, createdAt: deps.clock.now() };
  if (parsed.subject) record.subject = parsed.subject.digest;
  if (parsed.artifactType) record.artifactType = parsed.artifactType;
  if (parsed.annotations) record.annotations = parsed.annotations;
  await deps.metadata.putManifest(repository, record, referencesOf(parsed), reference.tag, { deferReferences: true });
  deps.logger.log('info', 'cache filled manifest', { repository, reference: name, digest, upstream: match.rule.upstream });
  return record;
}

function upstreamRefused(match: CacheMatch, status: number, what: string): RegistryError {
  if (status === 401 || status === 403) {
    return new RegistryError('DENIED', `upstream ${match.rule.upstream} refused ${what} of ${match.upstreamRepository} (HTTP ${status}): check the cache rule's credentials`);
  }
  return new RegistryError('UNAVAILABLE', `upstream ${match.rule.upstream} answered HTTP ${status} for ${what}`);
}

/** An upstream manifest this registry would refuse from a client is the upstream's problem, not the client's. */
function parseUpstream(body: Uint8Array, contentType: string | null, name: string): ReturnType<typeof parseManifest> {
  try {
    return parseManifest(body, contentType);
  } catch (error) {
    throw new RegistryError('UNAVAILABLE', `upstream manifest ${name} cannot be cached: ${(error as Error).message}`);
  }
}
