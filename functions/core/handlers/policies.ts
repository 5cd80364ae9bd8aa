import type { RequestContext, Services } from '../context';
import { RegistryError, StoreConflictError } from '../errors';
import { readBodyWithin } from '../http/body';
import { jsonResponse } from '../http/responses';
import { parseJsonDocument } from '../policy/documents';
import { parseImmutability } from '../policy/immutability';
import type { PolicyKind, PolicyStore } from '../policy/ports';
import { parseRetention } from '../policy/retention';
import { runRetention } from '../policy/runner';
import { retentionDepsOf } from '../policy/scheduled-run';

/**
 * Largest policy document accepted: far more than hundreds of rules need, and well within one
 * DynamoDB item (400 KB), so every store keeps what it accepts.
 */
export const MAX_POLICY_BYTES = 64 * 1024;

/** The ETag of "no document yet": If-Match with it creates the first one only. */
export const ABSENT_POLICY_ETAG = '0';

type DocumentKind = Exclude<PolicyKind, 'cache'>;

const EMPTY: Record<DocumentKind, unknown> = { retention: { version: 1, rules: [] }, immutability: { version: 1, rules: [] } };
const PARSERS: Record<DocumentKind, (input: unknown) => unknown> = { retention: parseRetention, immutability: parseImmutability };

export function policyStore(services: Services): PolicyStore {
  if (!services.policies) throw new RegistryError('UNSUPPORTED', 'this registry has no policy store configured', { status: 404 });
  return services.policies;
}

function quoted(etag: string): string {
  return `"${etag}"`;
}

/** If-Match as the store's opaque ETag: quotes and a weak prefix dropped; `*` kept. */
function ifMatchOf(request: Request): string | undefined {
  const header = request.headers.get('if-match');
  if (header === null) return undefined;
  return header.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

async function getPolicy(ctx: RequestContext, kind: DocumentKind): Promise<Response> {
  const stored = await policyStore(ctx.services).get(kind);
  return jsonResponse(200, stored?.document ?? EMPTY[kind], { ETag: quoted(stored?.etag ?? ABSENT_POLICY_ETAG) });
}

async function putPolicy(ctx: RequestContext, kind: DocumentKind): Promise<Response> {
  const store = policyStore(ctx.services);
  const body = await readBodyWithin(ctx.request, MAX_POLICY_BYTES, `${kind} document`);
  const document = PARSERS[kind](parseJsonDocument(new TextDecoder().decode(body), kind));
  try {
    const etag = await store.put(kind, document, ifMatchOf(ctx.request));
    return jsonResponse(200, document, { ETag: quoted(etag) });
  } catch (error) {
    if (!(error instanceof StoreConflictError)) throw error;
    throw new RegistryError('POLICY_CONFLICT', `the ${kind} document changed since it was read: GET it again, apply the change, and PUT with its ETag as If-Match`);
  }
}

/** GET /v2/_nimbus/retention: the retention document (an empty one if none was set), with its ETag. */
export const getRetention = (ctx: RequestContext) => getPolicy(ctx, 'retention');
/** PUT /v2/_nimbus/retention: replaces it (If-Match: compare-and-swap; 409 POLICY_CONFLICT when stale). */
export const putRetention = (ctx: RequestContext) => putPolicy(ctx, 'retention');
export const getImmutability = (ctx: RequestContext) => getPolicy(ctx, 'immutability');
export const putImmutability = (ctx: RequestContext) => putPolicy(ctx, 'immutability');

/** POST /v2/_nimbus/retention/run[?dryRun=1]: applies (or lists) the deletions of the retention document and the cache rules' lifecycles. */
export async function runRetentionNow(ctx: RequestContext): Promise<Response> {
  const { services } = ctx;
  policyStore(services); // 404 without a policy store, as the document routes; then without an inventory
  const deps = retentionDepsOf(services);
  if (!deps) throw new RegistryError('UNSUPPORTED', 'this registry cannot list its manifests for retention', { status: 404 });
  const flag = ctx.url.searchParams.get('dryRun') ?? ctx.url.searchParams.get('dry-run');
  const dryRun = flag !== null && flag !== '0' && flag !== 'false';
  const report = await runRetention(deps, { dryRun });
  services.logger.log('info', 'retention run', {
    dryRun, tagsDeleted: report.tagsDeleted, manifestsDeleted: report.manifestsDeleted, bytesFreed: report.bytesFreed, skipped: report.skipped.length,
  });
  return jsonResponse(200, report);
}
