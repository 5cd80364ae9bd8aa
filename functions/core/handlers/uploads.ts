import { capabilityParam } from '../capability';
import { RegistryError } from '../errors';
import { parseDigest } from '../digest';
import { tryMount } from './mount';
import { repositoryOf, type RequestContext } from '../context';
import type { UploadSession } from '../records';
import { CHUNK_MAX_LENGTH_HEADER, CONTENT_DIGEST_HEADER, UPLOAD_UUID_HEADER } from '../http/headers';
import { emptyResponse } from '../http/responses';
import { parseContentRange, uploadRangeHeader } from '../http/range';
import { bodySource, contentLength } from '../http/body';
import type { AppendOptions } from '../upload/uploads';

/** The query parameter that carries an upload's signed capability. */
export const CAPABILITY_PARAM = '_state';

/**
 * POST /v2/<name>/blobs/uploads/: mounts a blob from another repository, stores a
 * monolithic upload (?digest= with the body), or opens a session.
 */
export async function startUpload(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  await ctx.services.cache?.refusePush(repository);
  const query = ctx.url.searchParams;
  const mount = query.get('mount');
  if (mount) {
    const mounted = await tryMount(ctx, repository, mount, query.get('from'));
    if (mounted) return blobCreated(repository, mounted);
  }
  const digestParam = query.get('digest');
  if (digestParam !== null) {
    const digest = parseDigest(digestParam);
    checkRequestSize(ctx);
    const session = await ctx.services.uploads.open(repository, digest.algorithm);
    const record = await ctx.services.uploads.complete(session, digest, bodySource(ctx.request), appendOptions(ctx, undefined));
    return blobCreated(repository, record.digest);
  }
  const session = await ctx.services.uploads.open(repository);
  return uploadResponse(ctx, 202, session);
}

/** GET /v2/<name>/blobs/uploads/<id>: where the upload stands, so a client can resume. */
export async function uploadStatus(ctx: RequestContext): Promise<Response> {
  const session = await authorizedSession(ctx);
  return uploadResponse(ctx, 204, session);
}

/** PATCH: one chunk, streamed (docker), sized (skopeo) or ranged (chunking clients). */
export async function patchUpload(ctx: RequestContext): Promise<Response> {
  const session = await authorizedSession(ctx);
  checkRequestSize(ctx);
  const body = bodySource(ctx.request);
  const range = parseContentRange(ctx.request.headers.get('content-range'));
  const updated = body ? await ctx.services.uploads.append(session, body, appendOptions(ctx, range)) : session;
  if (!body && range && range.start !== session.offset) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${range.start} but the upload holds ${session.offset} bytes`, {
      status: 416, headers: { Range: uploadRangeHeader(session.offset) },
    });
  }
  return uploadResponse(ctx, 202, updated);
}

/** PUT ?digest=: the optional last chunk, then verification and commit. */
export async function completeUpload(ctx: RequestContext): Promise<Response> {
  const session = await authorizedSession(ctx);
  const digest = parseDigest(ctx.url.searchParams.get('digest'), 'digest query parameter');
  checkRequestSize(ctx);
  const range = parseContentRange(ctx.request.headers.get('content-range'));
  const record = await ctx.services.uploads.complete(session, digest, bodySource(ctx.request), appendOptions(ctx, range));
  return blobCreated(session.repository, record.digest);
}

/** DELETE: cancels the session. */
export async function cancelUpload(ctx: RequestContext): Promise<Response> {
  const session = await authorizedSession(ctx);
  await ctx.services.uploads.cancel(session);
  return emptyResponse(204);
}

/** Loads the session named in the URL after checking the URL's signed capability. */
async function authorizedSession(ctx: RequestContext): Promise<UploadSession> {
  const repository = repositoryOf(ctx);
  const id = ctx.params.session ?? '';
  const { signer, clock, uploads } = ctx.services;
  const check = await signer.verify(capabilityParam(ctx.url, CAPABILITY_PARAM), { session: id, repository }, Math.floor(clock.now() / 1000));
  if (!check.ok) {
    const message = check.reason === 'expired'
      ? 'this upload URL has expired; start the upload again'
      : 'upload URL is not valid for this upload; use the Location the registry returned';
    throw new RegistryError('BLOB_UPLOAD_UNKNOWN', message, { detail: { reason: check.reason } });
  }
  return uploads.load(repository, id);
}

function appendOptions(ctx: RequestContext, range: { start: number; end: number } | undefined): AppendOptions {
  const options: AppendOptions = { requestId: ctx.requestId };
  const length = contentLength(ctx.request);
  if (range) {
    options.expectedOffset = range.start;
    options.expectedLength = range.end - range.start + 1;
    if (length !== undefined && length !== options.expectedLength) {
      throw new RegistryError('SIZE_INVALID', `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`, {
        detail: { contentLength: length, range },
      });
    }
  } else if (length !== undefined) {
    options.expectedLength = length;
  }
  return options;
}

/** Refuses, before reading it, a body larger than this deployment can carry. */
function checkRequestSize(ctx: RequestContext): void {
  const limit = ctx.services.config.maxRequestBodyBytes;
  const length = contentLength(ctx.request);
  if (limit !== undefined && length !== undefined && length > limit) {
    throw new RegistryError('SIZE_INVALID', `request body of ${length} bytes exceeds this endpoint's limit of ${limit} bytes; send chunks of at most ${limit} bytes`, {
      status: 413, detail: { limit }, headers: { [CHUNK_MAX_LENGTH_HEADER]: String(limit) },
    });
  }
}

async function uploadResponse(ctx: RequestContext, status: number, session: UploadSession): Promise<Response> {
  const { config, signer, clock } = ctx.services;
  const token = await signer.sign({
    session: session.id,
    repository: session.repository,
    expires: Math.floor(clock.now() / 1000) + config.uploadUrlTtlSeconds,
    ...(ctx.principal.subject ? { subject: ctx.principal.subject } : {}),
  });
  const path = `/v2/${session.repository}/blobs/uploads/${session.id}?${CAPABILITY_PARAM}=${token}`;
  const headers: Record<string, string> = {
    Location: (config.uploadOrigin ?? '') + path,
    Range: uploadRangeHeader(session.offset),
    [UPLOAD_UUID_HEADER]: session.id,
  };
  // The limit describes this endpoint; a Location on a separate upload origin is served without it.
  if (config.maxRequestBodyBytes !== undefined && config.uploadOrigin === undefined) headers[CHUNK_MAX_LENGTH_HEADER] = String(config.maxRequestBodyBytes);
  return emptyResponse(status, headers);
}

function blobCreated(repository: string, digest: string): Response {
  return emptyResponse(201, { Location: `/v2/${repository}/blobs/${digest}`, [CONTENT_DIGEST_HEADER]: digest });
}
