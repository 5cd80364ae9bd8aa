import { describe, expect, it } from 'vitest';
import { allowsAdmin, allowsRegistryScope, type Grant } from '../../functions/auth/grants';
import { parseScopes, scopeFor } from '../../functions/auth/scopes';

const grant = (pattern: string, ...actions: Grant['actions']): Grant => ({ pattern, actions });

describe('registry administration scope', () => {
  it('is registry:nimbus:* for admin routes, and the catalog scope stays as it was', () => {
    expect(scopeFor({ actions: [], admin: true })).toEqual({ type: 'registry', name: 'nimbus', actions: ['*'] });
    expect(scopeFor({ actions: ['pull'] })).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScopes(['registry:nimbus:*'])).toEqual([{ type: 'registry', name: 'nimbus', actions: ['*'] }]);
  });

  it('needs pull, push and delete on **, from one grant or several', () => {
    expect(allowsAdmin([grant('**', 'pull', 'push', 'delete')])).toBe(true);
    expect(allowsAdmin([grant('**', 'pull'), grant('**', 'push', 'delete')])).toBe(true);
    expect(allowsAdmin([grant('**', 'pull', 'push')])).toBe(false);
    expect(allowsAdmin([grant('team/**', 'pull', 'push', 'delete'), grant('**', 'pull')])).toBe(false);
    expect(allowsAdmin([])).toBe(false);
  });

  it('keeps the catalog at pull on ** and refuses unknown registry scopes', () => {
    expect(allowsRegistryScope([grant('**', 'pull')], 'catalog')).toBe(true);
    expect(allowsRegistryScope([grant('**', 'pull')], 'nimbus')).toBe(false);
    expect(allowsRegistryScope([grant('**', 'pull', 'push', 'delete')], 'other')).toBe(false);
  });
});
