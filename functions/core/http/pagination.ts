import { RegistryError } from '../errors';
import type { PageRequest } from '../records';

/** Without `n`, one page holds this many entries; a Link header points to the rest. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/**
 * `n` and `last` of a listing. `last` is an entry of an earlier page (a tag, a repository
 * name): anything else is refused, so no store ever compares a key it cannot hold (DynamoDB
 * refuses sort keys over 1 KB, which would surface as a 500).
 */
export function parsePageRequest(url: URL, isEntry: (value: string) => boolean, entry: string): PageRequest {
  const n = url.searchParams.get('n');
  const last = url.searchParams.get('last') ?? undefined;
  let limit = DEFAULT_PAGE_SIZE;
  if (n !== null) {
    if (!/^\d+$/.test(n)) throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer, got "${n.slice(0, 20)}"`, { status: 400 });
    limit = Math.min(Number(n), MAX_PAGE_SIZE);
  }
  if (last && !isEntry(last)) {
    throw new RegistryError('UNSUPPORTED', `last must be a ${entry} from an earlier page, got "${last.slice(0, 40)}"`, { status: 400 });
  }
  return last ? { limit, after: last } : { limit };
}

/** RFC 5988 Link to the next page, as distribution and the OCI spec describe it. */
export function nextLink(path: string, limit: number, last: string): Record<string, string> {
  const query = new URLSearchParams({ n: String(limit), last });
  return { Link: `<${path}?${query.toString()}>; rel="next"` };
}
