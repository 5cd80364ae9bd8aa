import { createHash, randomUUID, type Hash } from 'node:crypto';
import { wasmHashing, WASM_STATE_PREFIX, type Hashing, type ResumableHasher } from '../../core/index';

/**
 * Hashing for long-running Node processes. node:crypto is ~5x faster than hash-wasm but
 * cannot serialise its state, so a saved state is a key into this process's memory
 * ("live:<key>"). A state lost to a restart resumes as undefined and the core rebuilds it
 * from the stored bytes. Sessions that carry hash-wasm states (written by a Lambda) keep
 * resuming with hash-wasm.
 */
const LIVE_PREFIX = 'live:';
/** Upper bound on parked states: a state per upload in progress. */
const MAX_LIVE_STATES = 10_000;

export function nodeHashing(): Hashing {
  const parked = new Map<string, Hash>();

  class LiveHasher implements ResumableHasher {
    /** The state this hasher last saved, or resumed from: superseded by the next save. */
    private key: string | undefined;
    constructor(private readonly hash: Hash, resumedFrom?: string) {
      this.key = resumedFrom;
    }
    update(bytes: Uint8Array): void {
      this.hash.update(bytes);
    }
    save(): string {
      if (this.key) parked.delete(this.key);
      this.key = randomUUID();
      parked.set(this.key, this.hash.copy());
      while (parked.size > MAX_LIVE_STATES) parked.delete(parked.keys().next().value!);
      return LIVE_PREFIX + this.key;
    }
    digest(): string {
      // The last saved state stays parked: if the commit that follows fails, a retry resumes
      // from it. The size bound reclaims it eventually.
      return this.hash.digest('hex');
    }
  }

  return {
    async resume(algorithm, state) {
      if (state === undefined) return new LiveHasher(createHash(algorithm));
      if (state.startsWith(WASM_STATE_PREFIX)) return wasmHashing.resume(algorithm, state);
      if (!state.startsWith(LIVE_PREFIX)) return undefined;
      const key = state.slice(LIVE_PREFIX.length);
      const hash = parked.get(key);
      // Copy rather than take: if this request fails before saving, the session still points here.
      return hash ? new LiveHasher(hash.copy(), key) : undefined;
    },
    async oneShot(algorithm) {
      return new LiveHasher(createHash(algorithm));
    },
  };
}
