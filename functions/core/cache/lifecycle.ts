import type { RetentionDocument, RetentionRule } from '../policy/retention';
import { expireUnpulledDaysOf, type CacheRulesDocument } from './rules';

/**
 * A cache's default lifecycle (issue 15): what nobody pulled for `expireUnpulledDays` goes, and
 * is fetched again on its next pull. It is not a second retention mechanism: a retention run
 * evaluates the operator's retention document with one implied rule per prefix cache rule
 * appended after the operator's own rules:
 *
 *   { repositories: "<prefix>/**", notPulledForDays: N, untaggedOlderThanDays: N }
 *
 * Retention takes the FIRST rule matching a repository, so any operator rule matching a cached
 * repository (`dockerhub/**`, `**`) governs it instead, and the implied rule never applies there.
 * Implied rules go longest prefix first, as cache rules match (`a/b` before `a`). The root mirror
 * gets none: it shares repositories with pushed ones, and a rule over `**` would expire those.
 * Untagged manifests go after N days too (not sooner): a manifest pulled only by digest has no
 * tag and no pull time, so a shorter window would fetch it again and again.
 */
export function cacheLifecycleRules(cache: CacheRulesDocument | undefined): RetentionRule[] {
  if (!cache) return [];
  return cache.rules
    .filter((rule) => expireUnpulledDaysOf(rule) > 0)
    .sort((a, b) => b.prefix.length - a.prefix.length || (a.prefix < b.prefix ? -1 : 1))
    .map((rule) => {
      const days = expireUnpulledDaysOf(rule);
      return { repositories: `${rule.prefix}/**`, notPulledForDays: days, untaggedOlderThanDays: days };
    });
}

/** The retention document a run evaluates: the operator's rules, then the caches' lifecycles. */
export function effectiveRetention(operator: RetentionDocument | undefined, cache: CacheRulesDocument | undefined): RetentionDocument | undefined {
  const implied = cacheLifecycleRules(cache);
  if (implied.length === 0) return operator;
  return { ...(operator ?? {}), rules: [...(operator?.rules ?? []), ...implied] };
}
