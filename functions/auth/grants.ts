import type { Action } from '../core/access';
import { patternMatches, repositoryPatternProblem } from '../core/policy/patterns';

export { patternMatches };

/**
 * Grants: which actions a principal holds on repositories matching a pattern.
 * Patterns are repository names where `*` matches within one path component and
 * `**` matches any number of components: `team/*`, `team/**`, `**`.
 */
export const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

export interface Grant {
  pattern: string;
  actions: Action[];
}

export class GrantSyntaxError extends Error {}

export function parsePattern(pattern: string): string {
  const problem = repositoryPatternProblem(pattern);
  if (problem) throw new GrantSyntaxError(problem);
  return pattern;
}

/** "pull,push" → ['pull', 'push'], in canonical order, refusing unknown actions. */
export function parseActions(list: string): Action[] {
  const wanted = new Set(list.split(',').map((a) => a.trim()).filter(Boolean));
  if (wanted.size === 0) throw new GrantSyntaxError('name at least one action: pull, push or delete (e.g. pull,push)');
  for (const action of wanted) {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new GrantSyntaxError(`unknown action "${action}": actions are pull, push and delete, as a comma list (pull,push)`);
    }
  }
  return ACTIONS.filter((a) => wanted.has(a));
}

/** The actions `grants` allow on `repository`. */
export function allowedActions(grants: readonly Grant[], repository: string): Set<Action> {
  const allowed = new Set<Action>();
  for (const grant of grants) {
    if (patternMatches(grant.pattern, repository)) for (const action of grant.actions) allowed.add(action);
  }
  return allowed;
}

/** The catalog lists every repository, so it needs pull on all of them: a `**` grant. */
export function allowsCatalog(grants: readonly Grant[]): boolean {
  return grants.some((grant) => grant.pattern === '**' && grant.actions.includes('pull'));
}

/** Administration (GC, retention, immutability) can delete anything anywhere: a `**` grant of every action. */
export function allowsAdmin(grants: readonly Grant[]): boolean {
  const everywhere = new Set(grants.filter((grant) => grant.pattern === '**').flatMap((grant) => grant.actions));
  return ACTIONS.every((action) => everywhere.has(action));
}

/** What a registry-wide scope (`registry:catalog:*`, `registry:nimbus:*`) needs of the grants. */
export function allowsRegistryScope(grants: readonly Grant[], name: string): boolean {
  if (name === 'catalog') return allowsCatalog(grants);
  if (name === 'nimbus') return allowsAdmin(grants);
  return false;
}

/** One grant per pattern, actions united and in canonical order. */
export function mergeGrants(grants: readonly Grant[]): Grant[] {
  const byPattern = new Map<string, Set<Action>>();
  for (const grant of grants) {
    const actions = byPattern.get(grant.pattern) ?? new Set();
    for (const action of grant.actions) actions.add(action);
    byPattern.set(grant.pattern, actions);
  }
  return [...byPattern].map(([pattern, actions]) => ({ pattern, actions: ACTIONS.filter((a) => actions.has(a)) }));
}
