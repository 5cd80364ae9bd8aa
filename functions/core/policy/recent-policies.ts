import type { Clock } from '../ports';
import type { PolicyKind, PolicyStore, StoredPolicy } from './ports';

/**
 * A policy store that trusts, for `ttlMs`, what it last read of some kinds. Why: on AWS the
 * cache rules are read by every manifest GET, upload start and manifest PUT (is the repository
 * mirrored?), one consistent GetItem each, for a document an admin changes a few times a year.
 * A write through this store is seen at once by it; another container sees it within `ttlMs`.
 * Kinds not listed (immutability, retention) are read every time: a stale immutability rule
 * would let a tag move that must not.
 */
export function recentPolicies(store: PolicyStore, kinds: readonly PolicyKind[], ttlMs: number, clock: Clock): PolicyStore {
  const reads = new Map<PolicyKind, { at: number; value: Promise<StoredPolicy<unknown> | undefined> }>();
  return {
    get(kind) {
      if (!kinds.includes(kind)) return store.get(kind);
      const now = clock.now();
      const recent = reads.get(kind);
      if (recent && now - recent.at < ttlMs) return recent.value;
      const value = store.get(kind);
      const read = { at: now, value };
      reads.set(kind, read);
      // A failed read is not kept: the next caller tries again.
      value.catch(() => reads.get(kind) === read && reads.delete(kind));
      return value;
    },
    async put(kind, document, ifMatch) {
      try {
        return await store.put(kind, document, ifMatch);
      } finally {
        reads.delete(kind);
      }
    },
  };
}
