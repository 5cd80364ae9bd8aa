import { RegistryError, StoreInUseError, StoreNotFoundError } from '../errors';
import { inUse } from '../manifest/references';
import { parseDigest } from '../digest';
import { repositoryOf, type RequestContext } from '../context';
import { CONTENT_DIGEST_HEADER } from '../http/headers';
import { emptyResponse } from '../http/responses';
import { parseRangeHeader } from '../http/range';
import type { BlobRecord } from '../records';
import { cloudEvent, EVENT_TYPES } from '../events/cloud-events';
import { recordChange } from '../events/services';

/** Finds a blob this repository may serve, or throws BLOB_UNKNOWN. */
export async function linkedBlob(ctx: RequestContext, digestText: string | undefined): Promise<BlobRecord> {
  const repository = repositoryOf(ctx);
  const digest = parseDigest(digestText);
  const { metadata } = ctx.services;
  const [linked, record] = await Promise.all([metadata.isBlobLinked(repository, digest.value), metadata.getBlob(digest.value)]);
  if (!linked || !record) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in ${repository}`, { detail: { digest: digest.value } });
  return record;
}

/**
 * GET/HEAD /v2/<name>/blobs/<digest>. HEAD is answered from metadata. GET redirects to a
 * short-lived presigned URL when the store has one (blob bytes never pass through a
 * Lambda), else streams the bytes with Range support.
 */
export async function getBlob(ctx: RequestContext): Promise<Response> {
  let record: BlobRecord;
  try {
    record = await linkedBlob(ctx, ctx.params.digest);
  } catch (error) {
    // A repository a cache rule covers: fill the blob from upstream (core/cache/).
    const filled = error instanceof RegistryError && error.code === 'BLOB_UNKNOWN'
      ? await ctx.services.cache?.blob(ctx, repositoryOf(ctx), ctx.params.digest)
      : undefined;
    if (!filled) throw error;
    if (filled instanceof Response) return filled;
    record = filled;
  }
  return blobResponse(ctx, record);
}

/** A stored blob as GET/HEAD answer it: a redirect to storage when it presigns, else its bytes (with Range). */
export async function blobResponse(ctx: RequestContext, record: BlobRecord): Promise<Response> {
  const { blobs, config } = ctx.services;
  const etag = `"${record.digest}"`;
  const headers: Record<string, string> = {
    [CONTENT_DIGEST_HEADER]: record.digest,
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000, immutable',
  };
  if (ctx.request.headers.get('if-none-match') === etag) return emptyResponse(304, headers);
  const isHead = ctx.request.method === 'HEAD';
  if (!isHead && config.blobRedirectSeconds > 0) {
    const url = await blobs.presign(record.location, { method: 'GET', expiresInSeconds: config.blobRedirectSeconds, digest: record.digest });
    if (url) return emptyResponse(307, { ...headers, Location: url, 'Cache-Control': 'no-store' });
  }
  const range = parseRangeHeader(ctx.request.headers.get('range'), record.size);
  const type = { 'Content-Type': 'application/octet-stream' };
  if (isHead) return emptyResponse(200, { ...headers, ...type, 'Content-Length': String(record.size) });
  const result = await blobs.read(record.location, range).catch((error: unknown) => {
    // Metadata says yes, storage says no: the blob was garbage-collected or lost. Say so.
    if (error instanceof StoreNotFoundError) throw new RegistryError('BLOB_UNKNOWN', `blob ${record.digest} is not available`, { detail: { digest: record.digest } });
    throw error;
  });
  const status = range ? 206 : 200;
  const rangeHeaders: Record<string, string> = range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${record.size}` } : {};
  return new Response(result.body, {
    status,
    headers: { ...headers, ...type, ...rangeHeaders, 'Content-Length': String(result.length) },
  });
}

/**
 * DELETE /v2/<name>/blobs/<digest>: unlinks the blob from this repository only, unless a
 * manifest stored there still uses it (then 405, naming the manifest). The store queues a
 * garbage collection review (gc/ports.ts): the bytes go at a pass after the safety window,
 * if nothing uses or links the blob by then.
 */
export async function deleteBlob(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const digest = parseDigest(ctx.params.digest);
  const { events, metadata, clock } = ctx.services;
  const deleted = cloudEvent(EVENT_TYPES.blobDeleted, { repository, digest: digest.value, actor: ctx.principal.subject, reason: 'request' }, clock.now());
  const unlink = () => metadata.unlinkBlob(repository, digest.value);
  const removed = await recordChange(events, repository, [deleted], unlink).catch((error: unknown) => {
    throw error instanceof StoreInUseError ? inUse(repository, error) : error;
  });
  if (!removed) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in ${repository}`, { detail: { digest: digest.value } });
  return emptyResponse(202, { [CONTENT_DIGEST_HEADER]: digest.value });
}
