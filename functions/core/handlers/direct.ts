import * as z from 'zod/mini';
import { safeParse } from '../validation';
import { RegistryError } from '../errors';
import { parseDigest } from '../digest';
import { repositoryOf, type RequestContext } from '../context';
import { CONTENT_DIGEST_HEADER } from '../http/headers';
import { emptyResponse, jsonResponse } from '../http/responses';
import { readBodyWithin } from '../http/body';
import type { DirectUpload, UploadSession } from '../records';
import { MAX_URLS_PER_RESPONSE, partCount } from '../direct/parts';
import { tryMount } from './mount';

/** Request bodies of the direct-upload extension are small JSON documents. */
const MAX_BODY = 1024 * 1024;

const startSchema = z.object({ digest: z.string(), size: z.int().check(z.nonnegative()) });
const completeSchema = z.object({
  parts: z.array(z.object({ number: z.int().check(z.positive()), etag: z.string().check(z.minLength(1), z.maxLength(200)) })).check(z.maxLength(10_000)),
});

async function readJson<T>(ctx: RequestContext, schema: z.ZodMiniType<T>): Promise<T> {
  const body = await readBodyWithin(ctx.request, MAX_BODY, 'request body');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'request body must be JSON');
  }
  const parsed = safeParse(schema, json);
  if (!parsed.success) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'request body is malformed', {
      detail: parsed.error.issues.slice(0, 5).map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    });
  }
  return parsed.data;
}

function statusPath(session: UploadSession): string {
  return `/v2/${session.repository}/_nimbus/direct-uploads/${session.id}`;
}

/** What the client sees of a direct upload. */
function describe(session: UploadSession & { direct: DirectUpload }) {
  const { direct } = session;
  return {
    id: session.id, state: direct.state, digest: direct.digest, size: direct.size, partSize: direct.partSize,
    partCount: partCount(direct), ...(direct.error ? { error: direct.error } : {}),
  };
}

function stateResponse(session: UploadSession & { direct: DirectUpload }): Response {
  if (session.direct.state === 'failed') {
    const error = session.direct.error ?? { code: 'DIGEST_INVALID', message: 'verification failed' };
    throw new RegistryError(error.code === 'DIGEST_INVALID' ? 'DIGEST_INVALID' : 'BLOB_UPLOAD_INVALID', error.message, { detail: describe(session) });
  }
  const status = session.direct.state === 'verified' ? 201 : 202;
  const headers: Record<string, string> = { Location: statusPath(session) };
  if (session.direct.state === 'verified') headers[CONTENT_DIGEST_HEADER] = session.direct.digest;
  return jsonResponse(status, describe(session), headers);
}

/**
 * POST /v2/<name>/_nimbus/direct-uploads {digest, size}: plans the parts and returns
 * presigned URLs for the first ones. A blob the caller can already read (in this repository
 * or, as for a mount, another one) needs no upload.
 */
export async function startDirectUpload(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  await ctx.services.cache?.refusePush(repository);
  const request = await readJson(ctx, startSchema);
  const digest = parseDigest(request.digest);
  const { direct } = ctx.services;
  // Already here, or readable elsewhere: link it instead of uploading the bytes again.
  if (await tryMount(ctx, repository, digest.value, null)) {
    return jsonResponse(200, { state: 'exists', digest: digest.value }, { [CONTENT_DIGEST_HEADER]: digest.value });
  }
  const session = await direct.start(repository, digest, request.size) as UploadSession & { direct: DirectUpload };
  const parts = await direct.partUrls(session, 1, MAX_URLS_PER_RESPONSE);
  return jsonResponse(201, { ...describe(session), parts }, { Location: statusPath(session) });
}

/** GET .../<id>/parts?first=N&count=M: more presigned part URLs. */
export async function directPartUrls(ctx: RequestContext): Promise<Response> {
  const session = await ctx.services.direct.load(repositoryOf(ctx), ctx.params.session ?? '');
  const first = positive(ctx.url.searchParams.get('first') ?? '1', 'first');
  const count = positive(ctx.url.searchParams.get('count') ?? String(MAX_URLS_PER_RESPONSE), 'count');
  return jsonResponse(200, { parts: await ctx.services.direct.partUrls(session, first, count) });
}

/** PUT .../<id> {parts: [{number, etag}]}: assemble and verify. 201 when verified, 202 while verifying. */
export async function completeDirectUpload(ctx: RequestContext): Promise<Response> {
  const session = await ctx.services.direct.load(repositoryOf(ctx), ctx.params.session ?? '');
  const request = await readJson(ctx, completeSchema);
  return stateResponse(await ctx.services.direct.complete(session, request.parts));
}

/** GET .../<id>: where verification stands (handing an overdue verification over again). */
export async function directUploadStatus(ctx: RequestContext): Promise<Response> {
  const { direct } = ctx.services;
  return stateResponse(await direct.refresh(await direct.load(repositoryOf(ctx), ctx.params.session ?? '')));
}

/** DELETE .../<id>: abandon the upload and whatever it stored. */
export async function cancelDirectUpload(ctx: RequestContext): Promise<Response> {
  const session = await ctx.services.direct.load(repositoryOf(ctx), ctx.params.session ?? '');
  await ctx.services.direct.cancel(session);
  return emptyResponse(204);
}

function positive(value: string, name: string): number {
  if (!/^[1-9]\d{0,5}$/.test(value)) throw new RegistryError('BLOB_UPLOAD_INVALID', `${name} must be a positive integer`);
  return Number(value);
}
