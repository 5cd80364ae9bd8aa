import { RegistryError } from '../errors';
import type { Digest } from '../digest';
import type { BlobStore, ByteSource, Clock, Hashing, Logger, MetadataStore, UploadRef } from '../ports';
import type { BlobRecord, PartRecord } from '../records';
import type { BlobLocks } from '../gc/ports';
import { underBlobLock } from '../keyed-lock';
import { CONTENT_DIGEST_HEADER } from '../http/headers';
import type { CacheMatch } from './rules';
import { LeaderStream } from './leader-stream';
import type { UpstreamClient } from './upstream';

export interface BlobFillDeps {
  blobs: BlobStore;
  metadata: MetadataStore;
  hashing: Hashing;
  clock: Clock;
  logger: Logger;
  blobLocks: BlobLocks | undefined;
  upstream: UpstreamClient;
  /** Largest blob taken from upstream; undefined: no limit. */
  maxBlobBytes?: number | undefined;
}

/** A fill under way: the first requester's streamed answer, and the stored record once verified. */
export interface BlobFill {
  response: Response;
  stored: Promise<BlobRecord>;
}

/**
 * Fetches one blob from upstream and stores it, streaming it to the requester as it arrives:
 * the bytes are hashed on the way to storage, and the blob is recorded (and linked into the
 * repository) only once its digest matches. The requester's stream ends after that commit, or
 * fails when the digest or the upstream does. The fill goes on if the requester goes away, so
 * requesters waiting on `stored` are served from storage.
 */
export async function startBlobFill(deps: BlobFillDeps, match: CacheMatch, repository: string, digest: Digest): Promise<BlobFill> {
  const response = await deps.upstream.request(match.rule, match.upstreamRepository, `blobs/${digest.value}`, 'GET');
  if (response.status === 404) {
    await response.body?.cancel();
    throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in ${repository} (nor upstream)`, { detail: { digest: digest.value } });
  }
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw new RegistryError('UNAVAILABLE', `upstream ${match.rule.upstream} answered HTTP ${response.status} for blob ${digest.value}`);
  }
  const length = response.headers.get('content-length');
  const announced = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  if (deps.maxBlobBytes !== undefined && announced !== undefined && announced > deps.maxBlobBytes) {
    await response.body.cancel();
    throw tooLarge(digest, `${announced} bytes`, deps.maxBlobBytes);
  }
  const leader = new LeaderStream(deps.blobs);
  const stored = store(deps, repository, digest, response.body, (chunk) => leader.push(chunk)).then((record) => {
    leader.finish(record);
    return record;
  }, (error: unknown) => {
    leader.fail(error);
    throw error;
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream', [CONTENT_DIGEST_HEADER]: digest.value, ETag: `"${digest.value}"`,
    ...(announced !== undefined ? { 'Content-Length': String(announced) } : {}),
  };
  return { response: new Response(leader.stream, { status: 200, headers }), stored };
}

async function store(
  deps: BlobFillDeps, repository: string, digest: Digest, body: ReadableStream<Uint8Array>, forward: (chunk: Uint8Array) => void,
): Promise<BlobRecord> {
  const { blobs, metadata, hashing, clock } = deps;
  const id = crypto.randomUUID();
  const ref: UploadRef = { id, handle: await blobs.createUpload(id) };
  const hasher = await hashing.oneShot(digest.algorithm);
  let size = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      hasher.update(chunk);
      size += chunk.byteLength;
      if (deps.maxBlobBytes !== undefined && size > deps.maxBlobBytes) throw tooLarge(digest, `over ${deps.maxBlobBytes} bytes`, deps.maxBlobBytes);
      forward(chunk);
      yield chunk;
    }
  }
  try {
    const parts = await writeParts(blobs, ref, hashed());
    const actual = `${digest.algorithm}:${hasher.digest()}`;
    if (actual !== digest.value) {
      throw new RegistryError('UNAVAILABLE', `upstream sent content with digest ${actual} for blob ${digest.value}; nothing was stored`);
    }
    return await underBlobLock(deps.blobLocks, digest.value, async () => {
      const existing = await metadata.getBlob(digest.value);
      let record = existing;
      if (!record) {
        const location = await blobs.completeUpload(ref, parts, size, digest.value);
        record = (await metadata.putBlob({ digest: digest.value, size, location, createdAt: clock.now() })).record;
        if (record.location !== location) await blobs.delete(location);
      } else {
        await blobs.abortUpload(ref);
      }
      await metadata.linkBlob(repository, digest.value);
      return record;
    });
  } catch (error) {
    await blobs.abortUpload(ref).catch(() => undefined);
    await body.cancel().catch(() => undefined);
    throw error;
  }
}

/** Writes a stream as the store wants it: one streamed part, or buffered parts of partSize. */
async function writeParts(blobs: BlobStore, ref: UploadRef, source: ByteSource): Promise<PartRecord[]> {
  const policy = blobs.partPolicy;
  if (policy.minPartSize === 0) return [await blobs.writePart(ref, { number: 1, offset: 0 }, source)];
  const parts: PartRecord[] = [];
  let pending: Uint8Array[] = [];
  let pendingSize = 0;
  let offset = 0;
  const flush = async () => {
    const bytes = new Uint8Array(pendingSize);
    let at = 0;
    for (const chunk of pending) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    parts.push(await blobs.writePart(ref, { number: parts.length + 1, offset }, bytes));
    offset += pendingSize;
    pending = [];
    pendingSize = 0;
  };
  for await (const chunk of source) {
    pending.push(chunk);
    pendingSize += chunk.byteLength;
    if (pendingSize >= policy.partSize) await flush();
  }
  if (pendingSize > 0 || parts.length === 0) await flush();
  return parts;
}

/**
 * A blob larger than this registry fills from upstream (on AWS without a fill component, what
 * the function can move within one request). Retrying will not help; copying the image in will.
 */
function tooLarge(digest: Digest, size: string, max: number): RegistryError {
  return new RegistryError('UNAVAILABLE', `blob ${digest.value} is ${size}: this registry fills blobs of at most ${max} bytes from upstream `
    + '(NIMBUS_CACHE_MAX_FILL_BYTES); copy the image into this repository instead (skopeo copy, crane copy, or docker pull + push)');
}
