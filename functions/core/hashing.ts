import type { IHasher } from 'hash-wasm';
import type { Hashing, ResumableHasher } from './ports';
import { fromBase64Url, toBase64Url } from './base64url';

/**
 * Portable resumable hashing with hash-wasm, whose state serialises to ~116 bytes so it
 * can live in the upload session between Lambda invocations. States are tagged "wasm:".
 */
export const WASM_STATE_PREFIX = 'wasm:';

type Algorithm = 'sha256' | 'sha512';

/**
 * One wasm instance per algorithm per process, shared by every hasher: instantiating one
 * per request cost more than loading a state into it. Hashers take turns: each call is
 * synchronous, and a hasher that finds another one's state in the instance saves it into
 * that hasher before loading its own (the same save and load a session's state goes through).
 */
class SharedInstance {
  owner: WasmHasher | undefined;
  constructor(readonly wasm: IHasher, readonly initial: Uint8Array) {}
}

class WasmHasher implements ResumableHasher {
  private finished = false;
  constructor(private readonly shared: SharedInstance, private state: Uint8Array) {}

  /** The shared instance holding this hasher's state; throws when `state` is not a hash-wasm state of this algorithm. */
  claim(): IHasher {
    if (this.finished) throw new Error('hasher used after digest()');
    const { shared } = this;
    if (shared.owner !== this) {
      const previous = shared.owner;
      const previousState = previous ? shared.wasm.save() : undefined;
      // Checks the state before it writes anything: on a throw the previous owner keeps the instance.
      shared.wasm.load(this.state);
      if (previous) previous.state = previousState!;
      shared.owner = this;
    }
    return shared.wasm;
  }
  update(bytes: Uint8Array): void {
    this.claim().update(bytes);
  }
  save(): string {
    return WASM_STATE_PREFIX + toBase64Url(this.claim().save());
  }
  digest(): string {
    const hex = this.claim().digest('hex');
    this.finished = true;
    this.shared.owner = undefined;
    return hex;
  }
}

const instances = new Map<Algorithm, Promise<SharedInstance>>();

function instance(algorithm: Algorithm): Promise<SharedInstance> {
  let shared = instances.get(algorithm);
  if (!shared) {
    shared = create(algorithm).then((wasm) => new SharedInstance(wasm, wasm.save()));
    // A failed load is tried again by the next request.
    shared.catch(() => instances.delete(algorithm));
    instances.set(algorithm, shared);
  }
  return shared;
}

async function create(algorithm: Algorithm): Promise<IHasher> {
  // Loaded by the first upload, not at start: most requests hash nothing.
  const { createSHA256, createSHA512 } = await import('./sha2-wasm');
  const hasher = algorithm === 'sha256' ? await createSHA256() : await createSHA512();
  hasher.init();
  return hasher;
}

export const wasmHashing: Hashing = {
  async resume(algorithm, state) {
    const shared = await instance(algorithm);
    if (state === undefined) return new WasmHasher(shared, shared.initial);
    if (!state.startsWith(WASM_STATE_PREFIX)) return undefined;
    const bytes = fromBase64Url(state.slice(WASM_STATE_PREFIX.length));
    if (!bytes) return undefined;
    const hasher = new WasmHasher(shared, bytes);
    try {
      hasher.claim();
    } catch {
      return undefined;
    }
    return hasher;
  },
  async oneShot(algorithm) {
    const shared = await instance(algorithm);
    return new WasmHasher(shared, shared.initial);
  },
};
