import type { RequestContext } from '../context';
import { RegistryError, StoreConflictError } from '../errors';
import { readBodyWithin } from '../http/body';
import { jsonResponse } from '../http/responses';
import { parseJsonDocument, parsePolicy } from '../policy/documents';
import { DEFAULT_EXPIRE_UNPULLED_DAYS, EMPTY_CACHE_RULES, expireUnpulledDaysOf, parseCacheRules, secretKeyOf, type CacheRule, type CacheRulesDocument } from '../cache/rules';
import type { CacheSecrets } from '../cache/ports';
import * as z from 'zod/mini';
import { ABSENT_POLICY_ETAG, policyStore } from './policies';

const MAX_RULE_BYTES = 16 * 1024;
const CAS_ATTEMPTS = 5;

const addSchema = z.strictObject({
  prefix: z.string(),
  upstream: z.string(),
  username: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
  password: z.optional(z.string().check(z.minLength(1), z.maxLength(8192))),
  openFills: z.optional(z.boolean()),
  expireUnpulledDays: z.optional(z.int()),
}).check(z.refine((body) => (body.username === undefined) === (body.password === undefined), 'username and password go together'));

function secretsOf(ctx: RequestContext): CacheSecrets {
  if (!ctx.services.cacheSecrets) throw new RegistryError('UNSUPPORTED', 'this registry has no pull-through cache configured', { status: 404 });
  return ctx.services.cacheSecrets;
}

async function readRules(ctx: RequestContext): Promise<{ document: CacheRulesDocument; etag: string }> {
  const stored = await policyStore(ctx.services).get('cache');
  return { document: stored ? parseCacheRules(stored.document) : EMPTY_CACHE_RULES, etag: stored?.etag ?? ABSENT_POLICY_ETAG };
}

/** Applies `change` to the rules by compare-and-swap, retrying when another writer got there first. */
async function updateRules(ctx: RequestContext, change: (document: CacheRulesDocument) => CacheRulesDocument): Promise<CacheRulesDocument> {
  for (let attempt = 1; ; attempt++) {
    const { document, etag } = await readRules(ctx);
    const next = parseCacheRules(change(document));
    try {
      await policyStore(ctx.services).put('cache', next, etag);
      return next;
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt >= CAS_ATTEMPTS) throw error;
    }
  }
}

/** GET /v2/_nimbus/cache: the rules; credentials show only as `credentials: true`, never their values. */
export async function listCacheRules(ctx: RequestContext): Promise<Response> {
  secretsOf(ctx);
  const { document, etag } = await readRules(ctx);
  // Rules stored before lifecycles existed show the one they apply (expireUnpulledDaysOf).
  const rules = document.rules.map((rule) => (rule.prefix === '' ? rule : { ...rule, expireUnpulledDays: expireUnpulledDaysOf(rule) }));
  return jsonResponse(200, { ...document, rules }, { ETag: `"${etag}"` });
}

/**
 * POST /v2/_nimbus/cache: adds or replaces the rule for a prefix ("" for the root mirror):
 * `{prefix, upstream, username?, password?, openFills?, expireUnpulledDays?}` (a prefix rule's
 * lifecycle, default 30 days; 0 keeps for ever). Credentials are stored apart from the
 * rules (CacheSecrets) and never returned; a rule replaced without credentials loses its old ones.
 */
export async function addCacheRule(ctx: RequestContext): Promise<Response> {
  const secrets = secretsOf(ctx);
  const body = await readBodyWithin(ctx.request, MAX_RULE_BYTES, 'cache rule');
  const input = parsePolicy(addSchema, parseJsonDocument(new TextDecoder().decode(body), 'cache rule'), 'cache rule');
  const rule: CacheRule = { prefix: input.prefix, upstream: input.upstream.replace(/\/+$/, '') };
  if (input.username !== undefined) rule.credentials = true;
  if (input.openFills) rule.openFills = true;
  // Stored explicitly, so `cache list` shows the lifecycle a prefix rule has (the root mirror has none).
  if (rule.prefix !== '' || input.expireUnpulledDays !== undefined) rule.expireUnpulledDays = input.expireUnpulledDays ?? DEFAULT_EXPIRE_UNPULLED_DAYS;
  // Validated (upstream address, prefix) before any secret is written.
  parseCacheRules({ version: 1, rules: [rule] });
  const key = secretKeyOf(rule.prefix);
  // Secrets change before the rules: when the secrets store fails, no rule outlives or lacks them silently.
  if (input.username !== undefined && input.password !== undefined) await secrets.put(key, { username: input.username, password: input.password });
  else await secrets.delete(key);
  const document = await updateRules(ctx, (current) => ({ ...current, rules: [...current.rules.filter((each) => each.prefix !== rule.prefix), rule] }));
  ctx.services.logger.log('info', 'cache rule set', { prefix: rule.prefix, upstream: rule.upstream, credentials: rule.credentials === true });
  return jsonResponse(200, document);
}

/** DELETE /v2/_nimbus/cache?prefix=P (prefix= empty for the root mirror): removes the rule and its credentials. */
export async function removeCacheRule(ctx: RequestContext): Promise<Response> {
  const secrets = secretsOf(ctx);
  const prefix = ctx.url.searchParams.get('prefix');
  if (prefix === null) throw new RegistryError('POLICY_INVALID', 'say which rule: ?prefix=PREFIX (empty for the root mirror)');
  const { document } = await readRules(ctx);
  if (!document.rules.some((rule) => rule.prefix === prefix)) {
    throw new RegistryError('NAME_UNKNOWN', `no cache rule for prefix "${prefix.slice(0, 200)}"`, { detail: { prefix: prefix.slice(0, 200) } });
  }
  // The secret first: a secrets store that fails leaves the rule in place, never a secret without its rule.
  await secrets.delete(secretKeyOf(prefix));
  const next = await updateRules(ctx, (current) => ({ ...current, rules: current.rules.filter((rule) => rule.prefix !== prefix) }));
  ctx.services.logger.log('info', 'cache rule removed', { prefix });
  return jsonResponse(200, next);
}
