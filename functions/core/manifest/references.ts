import { RegistryError, StoreInUseError, StoreReferenceMissingError } from '../errors';
import type { FoundReferences, ManifestReferences, MetadataStore } from '../ports';
import type { Descriptor, ManifestRecord } from '../records';
import type { ParsedManifest } from './parse';

/**
 * Most distinct blobs and child manifests one manifest may reference. Every reference is
 * verified and recorded in the store (two small transactional writes on DynamoDB), so this
 * bounds the work of one PUT: 10,000 is ~80 times the layers an overlay filesystem mounts, and
 * DynamoDB records them in a few seconds, well within API Gateway's 30 s. (DynamoDB Local,
 * under dev:aws, runs transactions one at a time: a few hundred references a second.) A 4 MiB
 * manifest could list ~40,000.
 */
export const MAX_MANIFEST_REFERENCES = 10_000;

/** The distinct digests a manifest references; a digest listed 5,000 times counts once. */
export function referencesOf(parsed: ParsedManifest): ManifestReferences {
  const blobs = [...new Set(parsed.blobs.map((d) => d.digest))];
  const manifests = [...new Set(parsed.children.map((d) => d.digest))];
  const total = blobs.length + manifests.length;
  if (total > MAX_MANIFEST_REFERENCES) {
    throw new RegistryError('MANIFEST_INVALID', `manifest references ${total} distinct blobs and manifests; this registry accepts at most ${MAX_MANIFEST_REFERENCES}`, {
      detail: { references: total, limit: MAX_MANIFEST_REFERENCES },
    });
  }
  return { blobs, manifests };
}

/**
 * Checks, with one bulk lookup, that everything the manifest references is in the repository
 * with the size the manifest gives it. The store checks existence again, atomically, when it
 * stores the manifest; this pass gives the precise error for the common case.
 */
export async function verifyReferences(
  metadata: MetadataStore, repository: string, parsed: ParsedManifest, references: ManifestReferences,
): Promise<void> {
  const found = await metadata.findReferences(repository, references);
  const missingBlob = parsed.blobs.find((d) => !found.blobs.has(d.digest));
  if (missingBlob) throw blobUnknown(repository, missingBlob.digest, countMissing(references.blobs, found.blobs));
  const missingChild = parsed.children.find((d) => !found.manifests.has(d.digest));
  if (missingChild) {
    const isBlob = await metadata.isBlobLinked(repository, missingChild.digest);
    throw childUnknown(repository, missingChild.digest, isBlob, countMissing(references.manifests, found.manifests));
  }
  for (const descriptor of parsed.blobs) checkSize(descriptor, found.blobs.get(descriptor.digest)!.size, 'blob');
  for (const descriptor of parsed.children) checkSize(descriptor, found.manifests.get(descriptor.digest)!.size, 'manifest');
}

/** The spec error for a reference the store found missing while storing the manifest. */
export function missingReference(repository: string, error: StoreReferenceMissingError): RegistryError {
  return error.kind === 'blob' ? blobUnknown(repository, error.digest, 1) : childUnknown(repository, error.digest, false, 1);
}

/**
 * The spec error for a delete that would break a stored manifest. Until garbage collection
 * decides such deletes (issue 12), they are refused with 405 UNSUPPORTED: the spec's answer
 * for a delete the registry does not allow, which the conformance suite and clients accept
 * from any DELETE (a 409 fails its teardown when blobs are deleted before manifests). The
 * message and detail name the manifest that holds the target, so the caller knows what to
 * delete first.
 */
export function inUse(repository: string, error: StoreInUseError): RegistryError {
  const holder = error.holder ?? 'another manifest';
  if (error.kind === 'blob') {
    return new RegistryError('UNSUPPORTED', `blob ${error.digest} is used by manifest ${holder} in ${repository}; delete that manifest first`, {
      status: 405, headers: { Allow: 'GET, HEAD' }, detail: { digest: error.digest, manifest: error.holder ?? null },
    });
  }
  return new RegistryError('UNSUPPORTED', `manifest ${error.digest} is listed by index ${holder} in ${repository}; delete that index first`, {
    status: 405, headers: { Allow: 'GET, HEAD, PUT' }, detail: { digest: error.digest, index: error.holder ?? null },
  });
}

function blobUnknown(repository: string, digest: string, missing: number): RegistryError {
  const others = missing > 1 ? ` (and ${missing - 1} more)` : '';
  return new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references blob ${digest}${others}, which is not in ${repository}; push it first`, {
    detail: { digest, missing },
  });
}

/** CNCF distribution answers a missing index child (or one that is a blob) the same way. */
function childUnknown(repository: string, digest: string, isBlob: boolean, missing: number): RegistryError {
  const what = isBlob ? 'a blob, not a manifest,' : 'not a manifest';
  const others = missing > 1 ? ` (and ${missing - 1} more)` : '';
  return new RegistryError('MANIFEST_BLOB_UNKNOWN', `index lists ${digest}${others}, which is ${what} in ${repository}; push the manifest first`, {
    detail: { digest, missing },
  });
}

function countMissing(digests: readonly string[], found: FoundReferences['blobs'] | FoundReferences['manifests']): number {
  return digests.filter((digest) => !found.has(digest)).length;
}

function checkSize(descriptor: Descriptor, actual: number, kind: 'blob' | 'manifest'): void {
  if (descriptor.size === actual) return;
  throw new RegistryError('MANIFEST_INVALID', `manifest gives ${kind} ${descriptor.digest} a size of ${descriptor.size}, but it holds ${actual} bytes`, {
    detail: { digest: descriptor.digest, declared: descriptor.size, actual },
  });
}

/**
 * How a referrer is listed under its subject (the referrers API's descriptor): stores keep
 * this beside the subject so listing needs no manifest read.
 */
export function referrerDescriptorOf(manifest: ManifestRecord): Descriptor {
  const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size };
  if (manifest.artifactType) descriptor.artifactType = manifest.artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return descriptor;
}
