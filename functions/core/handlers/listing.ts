import { RegistryError } from '../errors';
import { repositoryOf, type RequestContext } from '../context';
import { jsonResponse } from '../http/responses';
import { nextLink, parsePageRequest } from '../http/pagination';
import { isRepositoryName, isTag } from '../names';

/** GET /v2/<name>/tags/list?n=&last=: tags in lexical order, a page at a time. */
export async function listTags(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const { metadata } = ctx.services;
  const page = parsePageRequest(ctx.url, isTag, 'tag');
  if (!(await metadata.repositoryExists(repository))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to this registry`, { detail: { name: repository } });
  }
  const result = page.limit === 0 ? { items: [], more: false } : await metadata.listTags(repository, page);
  const last = result.items.at(-1);
  const headers = result.more && last ? nextLink(`/v2/${repository}/tags/list`, page.limit, last) : {};
  return jsonResponse(200, { name: repository, tags: result.items }, headers);
}

/** GET /v2/_catalog?n=&last=: repositories in lexical order, a page at a time. */
export async function listCatalog(ctx: RequestContext): Promise<Response> {
  const page = parsePageRequest(ctx.url, isRepositoryName, 'repository name');
  const result = page.limit === 0 ? { items: [], more: false } : await ctx.services.metadata.listRepositories(page);
  const last = result.items.at(-1);
  const headers = result.more && last ? nextLink('/v2/_catalog', page.limit, last) : {};
  return jsonResponse(200, { repositories: result.items }, headers);
}
