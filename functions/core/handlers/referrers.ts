import { parseDigest } from '../digest';
import { repositoryOf, type RequestContext } from '../context';
import { FILTERS_APPLIED_HEADER } from '../http/headers';
import { jsonResponse } from '../http/responses';
import { OCI_INDEX } from '../manifest/media-types';

/**
 * GET /v2/<name>/referrers/<digest>[?artifactType=]: an image index of the manifests whose
 * subject is <digest>. An unknown subject has no referrers: an empty index, not a 404.
 */
export async function listReferrers(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const subject = parseDigest(ctx.params.digest, 'subject digest');
  const artifactType = ctx.url.searchParams.get('artifactType');
  let manifests = await ctx.services.metadata.listReferrers(repository, subject.value);
  const headers: Record<string, string> = { 'Content-Type': OCI_INDEX };
  if (artifactType) {
    manifests = manifests.filter((descriptor) => descriptor.artifactType === artifactType);
    headers[FILTERS_APPLIED_HEADER] = 'artifactType';
  }
  manifests.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return jsonResponse(200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, headers);
}
