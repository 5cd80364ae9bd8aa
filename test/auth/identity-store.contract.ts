import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NameError, PrincipalExistsError, type IdentityStore, type PrincipalRecord } from '../../functions/auth/identity-store';

/** Login names a client may send that no user or robot can have. */
export const UNHOLDABLE_NAMES = [
  'Alice', 'alice@example.com', 'alice smith', 'alice\0', 'a'.repeat(200), '../x', '..', 'a/b', 'ålice', 'robot+', 'robot+Bad', '',
  '-alice', 'oidc', 'a'.repeat(65),
];

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

    it.each(UNHOLDABLE_NAMES)('never finds, and refuses to write, a name no principal can have: %j', async (bad) => {
      const store = await open();
      await store.createPrincipal(principal('alice'));
      expect(await store.getPrincipal(bad)).toBeUndefined();
      expect(await store.grantsOf(bad)).toEqual([]);
      expect(await store.deletePrincipal(bad)).toBe(false);
      await expect(store.createPrincipal(principal(bad))).rejects.toBeInstanceOf(NameError);
      await expect(store.setGrants(bad, [{ pattern: 'x/*', actions: ['pull'] }])).rejects.toBeInstanceOf(NameError);
      expect((await store.listPrincipals()).map((p) => p.name)).toEqual(['alice']);
      expect([...(await store.listGrants()).keys()]).toEqual([]);
    });

    it('finds no trusted issuer under a name no issuer can have', async () => {
      const store = await open();
      for (const issuer of ['', 'x'.repeat(2_000), 'é'.repeat(600), 'https://ci.example/\0']) {
        expect(await store.getFederation(issuer)).toBeUndefined();
      }
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
