import type { RequestContext } from '../context';
import { RegistryError } from '../errors';
import type { GcOptions } from '../gc/ports';
import { jsonResponse } from '../http/responses';

/** The longest safety window the route accepts: ten years, in seconds. */
const MAX_MIN_AGE_SECONDS = 10 * 365 * 86_400;

/**
 * POST /v2/_nimbus/gc?dryRun=1&minAge=<seconds>&full=1 (admin): runs a garbage collection
 * pass, after any pass in progress, and answers its GcReport.
 */
export async function runGcPass(ctx: RequestContext): Promise<Response> {
  const passes = ctx.services.gc;
  if (!passes) {
    throw new RegistryError('UNSUPPORTED', 'this registry has no online garbage collection for its store', { status: 404 });
  }
  const report = await passes.run(gcOptionsOf(ctx.url.searchParams));
  return jsonResponse(200, report);
}

/** The pass options a query asks for; 400 for anything it cannot mean. */
export function gcOptionsOf(query: URLSearchParams): GcOptions {
  for (const key of query.keys()) {
    if (key !== 'dryRun' && key !== 'minAge' && key !== 'full') throw badQuery(`unknown query parameter "${key.slice(0, 32)}"; use dryRun, minAge or full`);
  }
  const options: { dryRun: boolean; full: boolean; minAgeMs?: number } = {
    dryRun: flag(query, 'dryRun'),
    full: flag(query, 'full'),
  };
  const minAge = query.get('minAge');
  if (minAge !== null) {
    if (!/^\d{1,10}$/.test(minAge) || Number(minAge) > MAX_MIN_AGE_SECONDS) {
      throw badQuery(`minAge is the safety window in whole seconds, 0 to ${MAX_MIN_AGE_SECONDS}, not "${minAge.slice(0, 32)}"`);
    }
    options.minAgeMs = Number(minAge) * 1000;
  }
  return options;
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null || value === '0' || value === 'false') return false;
  if (value === '' || value === '1' || value === 'true') return true;
  throw badQuery(`${name} takes 1 or 0, not "${value.slice(0, 32)}"`);
}

function badQuery(message: string): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status: 400 });
}
