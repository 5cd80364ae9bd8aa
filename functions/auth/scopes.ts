import type { AccessRequest } from '../core/access';

/**
 * Token scopes as docker and containers/image send them (`repository:team/app:pull,push`,
 * `registry:catalog:*`) and the `access` claim of tokens, in distribution's format.
 */
export interface ResourceAccess {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

export const CATALOG: Omit<ResourceAccess, 'actions'> = { type: 'registry', name: 'catalog' };
/** Registry administration (GC, retention, immutability): `registry:nimbus:*`. */
export const ADMIN: Omit<ResourceAccess, 'actions'> = { type: 'registry', name: 'nimbus' };

/**
 * Parses scope values; each may hold several space-separated scopes (the POST form
 * does). Unknown resource types and malformed scopes are dropped, as distribution does.
 */
export function parseScopes(values: readonly string[]): ResourceAccess[] {
  const merged = new Map<string, ResourceAccess>();
  for (const scope of values.flatMap((value) => value.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    // "repository(plugin)" carries a resource class; the class does not change access.
    const type = scope.slice(0, first).replace(/\(.*\)$/, '');
    const name = scope.slice(first + 1, last);
    const actions = scope.slice(last + 1).split(',').filter(Boolean);
    if ((type !== 'repository' && type !== 'registry') || !name) continue;
    const key = `${type}:${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const action of actions) if (!entry.actions.includes(action)) entry.actions.push(action);
    merged.set(key, entry);
  }
  return [...merged.values()];
}

export function formatScope(access: ResourceAccess): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

/**
 * The scope a request needs, and `also` the scopes it can use besides (a mount's source).
 * Only the scope itself is checked; challenges name all of them, as distribution's do, so a
 * client that requests the challenged scope (reggie, the conformance suite's client) gets
 * pull on a mount's source when granted, and the mount happens.
 */
export interface NeededAccess extends ResourceAccess {
  also?: ResourceAccess[];
}

/** The scope a route's access needs, or undefined when it needs only a login (GET /v2/). */
export function scopeFor(access: AccessRequest): NeededAccess | undefined {
  if (access.admin) return { ...ADMIN, actions: ['*'] };
  if (access.repository !== undefined) {
    const also = (access.optional ?? []).map(({ repository, actions }): ResourceAccess => ({ type: 'repository', name: repository, actions: [...actions] }));
    return { type: 'repository', name: access.repository, actions: [...access.actions], ...(also.length > 0 ? { also } : {}) };
  }
  if (access.actions.length > 0) return { ...CATALOG, actions: ['*'] };
  return undefined;
}

/** Whether a token's access claims cover `needed`. */
export function covers(granted: readonly ResourceAccess[], needed: ResourceAccess): boolean {
  const entry = granted.find((g) => g.type === needed.type && g.name === needed.name);
  return entry !== undefined && needed.actions.every((action) => entry.actions.includes(action));
}

/** The WWW-Authenticate value that sends a client to the token endpoint; several scopes are space-separated. */
export function bearerChallenge(realm: string, service: string, scope?: NeededAccess, error?: 'invalid_token' | 'insufficient_scope'): string {
  const parts = [`realm="${realm}"`, `service="${service}"`];
  if (scope) parts.push(`scope="${[scope, ...(scope.also ?? [])].map(formatScope).join(' ')}"`);
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(',')}`;
}
