import { describe, expect, it } from 'vitest';
import { recentPolicies } from '../../functions/core/policy/recent-policies';
import type { PolicyKind, PolicyStore, StoredPolicy } from '../../functions/core/policy/ports';

/** A store in memory that counts its reads, and can be changed behind the wrapper's back (another container). */
function countingStore() {
  const documents = new Map<PolicyKind, StoredPolicy<unknown>>();
  const reads: PolicyKind[] = [];
  let failNext = false;
  let version = 0;
  const store: PolicyStore = {
    async get(kind) {
      reads.push(kind);
      if (failNext) {
        failNext = false;
        throw new Error('throttled');
      }
      return documents.get(kind);
    },
    async put(kind, document) {
      const etag = String(++version);
      documents.set(kind, { document, etag });
      return etag;
    },
  };
  return { store, reads, documents, failOnce: () => (failNext = true) };
}

describe('recentPolicies', () => {
  it('reads a cached kind once per ttl, and other kinds every time', async () => {
    let now = 1_000;
    const { store, reads } = countingStore();
    const policies = recentPolicies(store, ['cache'], 10_000, { now: () => now });
    await store.put('cache', { rules: ['a'] });
    expect((await policies.get('cache'))?.document).toEqual({ rules: ['a'] });
    // Changed by another process: not seen until the ttl has passed.
    await store.put('cache', { rules: ['b'] });
    now += 9_999;
    expect((await policies.get('cache'))?.document).toEqual({ rules: ['a'] });
    now += 1;
    expect((await policies.get('cache'))?.document).toEqual({ rules: ['b'] });
    await policies.get('immutability');
    await policies.get('immutability');
    expect(reads).toEqual(['cache', 'cache', 'immutability', 'immutability']);
  });

  it('sees its own writes at once', async () => {
    const { store } = countingStore();
    const policies = recentPolicies(store, ['cache'], 60_000, { now: () => 0 });
    expect(await policies.get('cache')).toBeUndefined();
    await policies.put('cache', { rules: ['new'] });
    expect((await policies.get('cache'))?.document).toEqual({ rules: ['new'] });
  });

  it('keeps no failed read: the next caller reads again', async () => {
    const { store, reads, failOnce } = countingStore();
    const policies = recentPolicies(store, ['cache'], 60_000, { now: () => 0 });
    failOnce();
    await expect(policies.get('cache')).rejects.toThrow('throttled');
    expect(await policies.get('cache')).toBeUndefined();
    expect(reads).toEqual(['cache', 'cache']);
  });
});
