/**
 * Read routes for the browse UI (/ui/), under /v2/_nimbus/ and /v2/<name>/_nimbus/ ("_" cannot
 * start a name component, so no repository collides). Each is authorized like the Distribution
 * route it extends: the repository search as the catalog (pull on every repository), the others
 * as pull on their repository. None needs administration.
 */
import { RegistryError } from '../errors';
import { repositoryOf, type RequestContext } from '../context';
import { jsonResponse } from '../http/responses';
import { parsePageRequest } from '../http/pagination';
import { isRepositoryName, isTag } from '../names';
import { parseDigest } from '../digest';
import { summarizeManifest, type ManifestSummary } from '../browse/summary';

/** Names one search request looks at before it answers with what it found so far and a cursor. */
export const SEARCH_SCAN_BUDGET = 20_000;
const SEARCH_CHUNK = 1000;
const DEFAULT_BROWSE_PAGE = 50;
const MAX_BROWSE_PAGE = 100;
const NO_STORE = { 'Cache-Control': 'no-store' };

/** `n` as the listing asked for it, capped; a page of DEFAULT_BROWSE_PAGE without it. */
function browseLimit(url: URL, requested: number): number {
  return Math.min(url.searchParams.has('n') ? requested : DEFAULT_BROWSE_PAGE, MAX_BROWSE_PAGE);
}

/**
 * GET /v2/_nimbus/repositories?q=&n=&last=: repositories whose name contains `q`, in lexical
 * order, a page at a time. It walks the catalog in chunks and stops after n matches or
 * SEARCH_SCAN_BUDGET names, so no request costs more than that however many repositories there are; `next`
 * (also a Link header) is where the following request resumes, absent at the end.
 */
export async function searchRepositories(ctx: RequestContext): Promise<Response> {
  const query = (ctx.url.searchParams.get('q') ?? '').trim().toLowerCase();
  if (query.length > 255) throw new RegistryError('UNSUPPORTED', 'q must be at most 255 characters', { status: 400 });
  const page = parsePageRequest(ctx.url, isRepositoryName, 'repository name');
  const limit = browseLimit(ctx.url, page.limit);
  const found: string[] = [];
  let after = page.after;
  let scanned = 0;
  let more = limit > 0;
  while (found.length < limit && scanned < SEARCH_SCAN_BUDGET && more) {
    const chunk = await ctx.services.metadata.listRepositories({ limit: query ? SEARCH_CHUNK : limit - found.length, ...(after ? { after } : {}) });
    more = chunk.more;
    for (const name of chunk.items) {
      scanned += 1;
      after = name;
      if (name.includes(query)) found.push(name);
      if (found.length === limit) {
        more = more || name !== chunk.items.at(-1);
        break;
      }
    }
    if (chunk.items.length === 0) more = false;
  }
  const next = more && after ? after : undefined;
  const headers: Record<string, string> = { ...NO_STORE };
  if (next) headers.Link = `</v2/_nimbus/repositories?${new URLSearchParams({ q: query, n: String(limit), last: next })}>; rel="next"`;
  return jsonResponse(200, { repositories: found, scanned, ...(next ? { next } : {}) }, headers);
}

export interface TagSummary extends Partial<ManifestSummary> {
  tag: string;
  digest: string;
  pushedAt?: number;
  pulledAt?: number;
}

/**
 * GET /v2/<name>/_nimbus/tags?n=&last=: a page of tags, each with its digest, compressed size,
 * platforms, and the push and last-pull times retention records (pulls are recorded at most
 * once a day per tag). Resolving here records no pull.
 */
export async function browseTags(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const { metadata, inventory } = ctx.services;
  const page = parsePageRequest(ctx.url, isTag, 'tag');
  const limit = browseLimit(ctx.url, page.limit);
  if (!(await metadata.repositoryExists(repository))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to this registry`, { detail: { name: repository } });
  }
  const [result, infos] = await Promise.all([
    // n=0 asks for nothing; no store is asked for a page of none (DynamoDB refuses Limit 0).
    limit === 0 ? Promise.resolve({ items: [], more: false }) : metadata.listTags(repository, { limit, ...(page.after ? { after: page.after } : {}) }),
    inventory ? inventory.listTagInfo(repository) : Promise.resolve([]),
  ]);
  const times = new Map(infos.map((info) => [info.tag, info]));
  const tags = await Promise.all(result.items.map(async (tag): Promise<TagSummary | undefined> => {
    const digest = await metadata.resolveTag(repository, tag);
    if (!digest) return undefined;
    const summary = await summarizeManifest(ctx.services, repository, digest);
    const time = times.get(tag)?.digest === digest ? times.get(tag) : undefined;
    return { ...summary, tag, digest, ...(time?.pushedAt ? { pushedAt: time.pushedAt } : {}), ...(time?.pulledAt ? { pulledAt: time.pulledAt } : {}) };
  }));
  const last = result.items.at(-1);
  return jsonResponse(200, { name: repository, tags: tags.filter(Boolean), ...(result.more && last ? { next: last } : {}) }, NO_STORE);
}

/** GET /v2/<name>/_nimbus/summary/<digest>: size, platforms and (for an image) its config. */
export async function browseManifest(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const digest = parseDigest(ctx.params.digest).value;
  const summary = await summarizeManifest(ctx.services, repository, digest, true);
  if (!summary) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${digest} is not stored in ${repository}`, { detail: { name: repository, digest } });
  return jsonResponse(200, summary, NO_STORE);
}

/**
 * GET /v2/<name>/_nimbus/storage: what the repository's manifests hold: the count of manifests
 * and distinct blobs, and their bytes (a blob shared with other repositories counts in each).
 */
export async function repositoryStorage(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const { metadata, inventory } = ctx.services;
  if (!(await metadata.repositoryExists(repository))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to this registry`, { detail: { name: repository } });
  }
  if (!inventory) throw new RegistryError('UNSUPPORTED', 'this registry keeps no inventory to measure storage with', { status: 404 });
  const manifests = await inventory.listManifestInfo(repository);
  const blobDigests = [...new Set(manifests.flatMap((manifest) => manifest.blobs))];
  const sizes = await inventory.blobSizes(blobDigests);
  let blobBytes = 0;
  for (const size of sizes.values()) blobBytes += size;
  const manifestBytes = manifests.reduce((total, manifest) => total + manifest.size, 0);
  return jsonResponse(200, {
    name: repository, manifests: manifests.length, blobs: sizes.size, blobBytes, manifestBytes, bytes: blobBytes + manifestBytes,
  }, NO_STORE);
}
