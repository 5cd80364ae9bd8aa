import * as z from 'zod/mini';
import { problemCheck } from '../validation';
import { parsePolicy } from '../policy/documents';

/**
 * Pull-through cache rules (issue 15): a repository prefix maps to an upstream registry, as
 * ECR's pull-through cache rules do. `mirror/team/app` under the rule `mirror` is `team/app`
 * upstream. One rule may be the root mirror (prefix ""): every repository no other rule
 * covers is looked up there on a miss, which is what a docker daemon with `registry-mirrors`
 * asks of a mirror (`docker pull nginx` arrives as `library/nginx`).
 *
 * The document holds no secret: credentials live in the CacheSecrets port, and the rule only
 * says whether it has some.
 */
export interface CacheRule {
  /** Repository prefix (name components), or "" for the root mirror. */
  prefix: string;
  /** Upstream origin, https:// (or http:// for internal mirrors). */
  upstream: string;
  /** Whether credentials are stored for this rule (CacheSecrets). */
  credentials?: boolean;
  /**
   * Anyone who may pull the prefix may trigger fills. Otherwise only principals with push on
   * the repository do: others see what is cached only.
   */
  openFills?: boolean;
  /**
   * Lifecycle (prefix rules only): retention runs delete the rule's tags nobody pulled (nor
   * pushed) for this many days, and its manifests left untagged as long; 0 keeps them for ever.
   * Absent: DEFAULT_EXPIRE_UNPULLED_DAYS. See core/cache/lifecycle.ts.
   */
  expireUnpulledDays?: number;
}

/** A prefix rule's lifecycle when it says none: what nobody pulled for a month goes. */
export const DEFAULT_EXPIRE_UNPULLED_DAYS = 30;

/** The lifecycle a rule applies (days; 0 = keep for ever). The root mirror has none (see lifecycle.ts). */
export function expireUnpulledDaysOf(rule: CacheRule): number {
  return rule.prefix === '' ? 0 : rule.expireUnpulledDays ?? DEFAULT_EXPIRE_UNPULLED_DAYS;
}

export interface CacheRulesDocument {
  version: 1;
  rules: CacheRule[];
}

export const EMPTY_CACHE_RULES: CacheRulesDocument = { version: 1, rules: [] };

const PREFIX = /^(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const ruleSchema = z.strictObject({
  prefix: z.string().check(z.maxLength(200), problemCheck((value: string) => (
    value === '' || PREFIX.test(value) ? undefined : 'must be repository name components (dockerhub, ghcr/org), or "" for the root mirror'))),
  upstream: z.string().check(z.maxLength(2000), problemCheck(upstreamProblem)),
  credentials: z.optional(z.boolean()),
  openFills: z.optional(z.boolean()),
  expireUnpulledDays: z.optional(z.int().check(z.minimum(0), z.maximum(36_500))),
}).check(z.refine((rule) => rule.prefix !== '' || !rule.expireUnpulledDays,
  'the root mirror has no lifecycle (it covers repositories people push to): give it a retention rule of your own'));

const documentSchema = z.strictObject({
  version: z._default(z.literal(1), 1),
  rules: z.array(ruleSchema).check(z.maxLength(200)),
}).check(z.superRefine((document, context) => {
  const seen = new Set<string>();
  document.rules.forEach((rule, index) => {
    if (seen.has(rule.prefix)) context.addIssue({ code: 'custom', path: ['rules', index, 'prefix'], message: `prefix "${rule.prefix}" has another rule already` });
    seen.add(rule.prefix);
  });
}));

export function parseCacheRules(input: unknown): CacheRulesDocument {
  return parsePolicy(documentSchema, input, 'cache rules') as CacheRulesDocument;
}

/** Cloud metadata endpoints: an upstream (or a redirect) must never point there. */
export function isMetadataAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  if (/^169\.254\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  // fe80::/10 is link-local too; fd00:ec2::254 is EC2's IPv6 metadata address.
  return /^fe[89ab][0-9a-f]:/.test(bare) || /^fd00:ec2:(?:0*:)*0*254$/.test(bare) || bare === 'fd00:ec2::254';
}

/** Why `value` is not an acceptable upstream origin, or undefined. */
export function upstreamProblem(value: string): string | undefined {
  if (!URL.canParse(value)) return `"${value.slice(0, 200)}" is not a URL: use https://registry.example.com`;
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the upstream must be an https:// (or http://) URL';
  if (url.username || url.password) return 'put credentials in --username/--password-stdin, not in the URL';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return 'the upstream is an origin only (https://host[:port]), without a path or query';
  if (isMetadataAddress(url.hostname)) return 'link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) cannot be upstreams';
  return undefined;
}

export interface CacheMatch {
  rule: CacheRule;
  /** The repository's name upstream. */
  upstreamRepository: string;
}

const DOCKER_HUB_HOSTS = new Set(['registry-1.docker.io', 'docker.io', 'index.docker.io']);

/** The rule covering a repository (the longest prefix; the root mirror last), or undefined. */
export function matchCacheRule(document: CacheRulesDocument | undefined, repository: string): CacheMatch | undefined {
  if (!document) return undefined;
  let best: CacheRule | undefined;
  for (const rule of document.rules) {
    if (rule.prefix === '' || !repository.startsWith(`${rule.prefix}/`)) continue;
    if (!best || rule.prefix.length > best.prefix.length) best = rule;
  }
  best ??= document.rules.find((rule) => rule.prefix === '');
  if (!best) return undefined;
  let upstreamRepository = best.prefix === '' ? repository : repository.slice(best.prefix.length + 1);
  // Docker Hub's official images live under library/: `dockerhub/nginx` is `library/nginx` there.
  if (DOCKER_HUB_HOSTS.has(new URL(best.upstream).hostname) && !upstreamRepository.includes('/')) upstreamRepository = `library/${upstreamRepository}`;
  return { rule: best, upstreamRepository };
}

/** The key credentials of a rule are stored under. */
export function secretKeyOf(prefix: string): string {
  return prefix === '' ? '_root' : prefix;
}
