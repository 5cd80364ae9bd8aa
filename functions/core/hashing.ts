import type { IHasher } from 'hash-wasm';
import type { Hashing, ResumableHasher } from './ports';
import { fromBase64Url, toBase64Url } from './base64url';

/**
 * Portable resumable hashing with hash-wasm, whose state serialises to ~116 bytes so it
 * can live in the upload session between Lambda invocations. States are tagged "wasm:".
 */
export const WASM_STATE_PREFIX = 'wasm:';

class WasmHasher implements ResumableHasher {
  constructor(private readonly hasher: IHasher) {}
  update(bytes: Uint8Array): void {
    this.hasher.update(bytes);
  }
  save(): string {
    return WASM_STATE_PREFIX + toBase64Url(this.hasher.save());
  }
  digest(): string {
    return this.hasher.digest('hex');
  }
}

async function create(algorithm: 'sha256' | 'sha512'): Promise<IHasher> {
  // Loaded by the first upload, not at start: most requests hash nothing.
  const { createSHA256, createSHA512 } = await import('./sha2-wasm');
  const hasher = algorithm === 'sha256' ? await createSHA256() : await createSHA512();
  hasher.init();
  return hasher;
}

export const wasmHashing: Hashing = {
  async resume(algorithm, state) {
    const hasher = await create(algorithm);
    if (state === undefined) return new WasmHasher(hasher);
    if (!state.startsWith(WASM_STATE_PREFIX)) return undefined;
    const bytes = fromBase64Url(state.slice(WASM_STATE_PREFIX.length));
    if (!bytes) return undefined;
    try {
      hasher.load(bytes);
    } catch {
      return undefined;
    }
    return new WasmHasher(hasher);
  },
  async oneShot(algorithm) {
    return new WasmHasher(await create(algorithm));
  },
};
