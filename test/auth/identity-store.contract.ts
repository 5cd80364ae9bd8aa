import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PrincipalExistsError, type IdentityStore, type PrincipalRecord } from '../../functions/auth/identity-store';

/** What every IdentityStore must do; run against files and DynamoDB. */
export function identityStoreContract(name: string, open: () => Promise<IdentityStore>): void {
  const principal = (name: string, kind: PrincipalRecord['kind'] = 'user'): PrincipalRecord => ({
    name, kind, secretHash: `scrypt$16384$8$1$salt$${randomUUID()}`, generation: randomUUID(), createdAt: new Date().toISOString(),
  });

  describe(`${name} identity store`, () => {
    it('creates principals once, updates and removes them with their grants', async () => {
      const store = await open();
      const alice = principal('alice');
      await store.createPrincipal(alice);
      await expect(store.createPrincipal(principal('alice'))).rejects.toBeInstanceOf(PrincipalExistsError);
      expect(await store.getPrincipal('alice')).toEqual(alice);
      const changed = { ...alice, generation: randomUUID() };
      await store.updatePrincipal(changed);
      expect(await store.getPrincipal('alice')).toEqual(changed);
      await expect(store.updatePrincipal(principal('ghost'))).rejects.toThrow();
      await store.createPrincipal(principal('robot+ci', 'robot'));
      expect((await store.listPrincipals()).map((p) => p.name)).toEqual(['alice', 'robot+ci']);

      await store.setGrants('alice', [{ pattern: 'alice/*', actions: ['pull', 'push'] }]);
      expect(await store.deletePrincipal('alice')).toBe(true);
      expect(await store.deletePrincipal('alice')).toBe(false);
      expect(await store.getPrincipal('alice')).toBeUndefined();
      expect(await store.grantsOf('alice')).toEqual([]);
    });

    it('keeps grants per principal, anonymous included', async () => {
      const store = await open();
      expect(await store.grantsOf('bob')).toEqual([]);
      await store.setGrants('bob', [{ pattern: 'team/**', actions: ['pull'] }, { pattern: 'bob/*', actions: ['pull', 'push', 'delete'] }]);
      await store.setGrants('anonymous', [{ pattern: 'public/*', actions: ['pull'] }]);
      expect(await store.grantsOf('bob')).toEqual([{ pattern: 'team/**', actions: ['pull'] }, { pattern: 'bob/*', actions: ['pull', 'push', 'delete'] }]);
      expect([...(await store.listGrants()).keys()]).toEqual(['anonymous', 'bob']);
      await store.setGrants('bob', []);
      expect(await store.grantsOf('bob')).toEqual([]);
      expect([...(await store.listGrants()).keys()]).toEqual(['anonymous']);
    });

    it('stores trusted issuers by exact issuer', async () => {
      const store = await open();
      const github = { issuer: 'https://token.actions.githubusercontent.com', audience: 'nimbus', rules: [{ when: 'a == "b"', pattern: 'org/app', actions: ['push' as const] }], generation: randomUUID() };
      await store.putFederation(github);
      expect(await store.getFederation(github.issuer)).toEqual(github);
      expect(await store.getFederation(`${github.issuer}/`)).toBeUndefined();
      expect(await store.listFederations()).toEqual([github]);
      expect(await store.deleteFederation(github.issuer)).toBe(true);
      expect(await store.deleteFederation(github.issuer)).toBe(false);
      expect(await store.listFederations()).toEqual([]);
    });
  });
}
