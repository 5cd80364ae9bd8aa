import { repositoryOf, type RequestContext } from '../context';
import { parseDigest } from '../digest';
import { RegistryError } from '../errors';
import { fillLinkValid } from '../cache/fill-link';
import { blobResponse } from './blobs';

/**
 * GET /v2/<name>/_nimbus/fill/<digest>?_state=<capability>: where the registry sends the requester
 * of a blob to fill (a 307 from the blob GET, once it decided the caller may fill). Runs on the fill
 * host (the upload endpoint on AWS), which can hold the request for as long as the layer takes:
 * the upstream's bytes stream to the first requester while they are stored; others get the stored
 * copy (a redirect to storage). The capability is the authorisation, bound to this blob.
 */
export async function fillCachedBlob(ctx: RequestContext): Promise<Response> {
  const { cache, signer, clock } = ctx.services;
  const repository = repositoryOf(ctx);
  const digest = parseDigest(ctx.params.digest);
  if (!cache) throw new RegistryError('UNSUPPORTED', 'this host fills no cached blobs', { status: 404 });
  if (!(await fillLinkValid(ctx.url, signer, clock, repository, digest.value))) {
    throw new RegistryError('DENIED', 'this fill link is invalid or expired: pull the blob from the registry again');
  }
  const match = await cache.match(repository);
  if (!match) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in ${repository}, and no cache rule covers it`, { detail: { digest: digest.value } });
  const stored = await ctx.services.metadata.getBlob(digest.value);
  const linked = stored && (await ctx.services.metadata.isBlobLinked(repository, digest.value));
  const filled = linked ? stored : await cache.fill(ctx, match, repository, digest);
  return filled instanceof Response ? filled : blobResponse(ctx, filled);
}
