import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { wasmHashing } from '../../functions/core/hashing';
import { nodeHashing } from '../../functions/adapters/node/hashing';
import type { Hashing } from '../../functions/core/ports';

const data = new Uint8Array(200_000).map((_, i) => i & 0xff);
const expected = (alg: 'sha256' | 'sha512', bytes: Uint8Array) => createHash(alg).update(bytes).digest('hex');

describe.each([['hash-wasm', wasmHashing], ['node:crypto live states', nodeHashing()]] as Array<[string, Hashing]>)('%s', (_name, hashing) => {
  it.each(['sha256', 'sha512'] as const)('resumes %s across saved states', async (alg) => {
    let state: string | undefined;
    for (let at = 0; at < data.byteLength; at += 70_001) {
      const hasher = (await hashing.resume(alg, state))!;
      hasher.update(data.subarray(at, at + 70_001));
      state = hasher.save();
    }
    const final = (await hashing.resume(alg, state))!;
    expect(final.digest()).toBe(expected(alg, data));
  });

  it('keeps a saved state usable when the hasher continues', async () => {
    const hasher = (await hashing.resume('sha256'))!;
    hasher.update(data.subarray(0, 10));
    const state = hasher.save();
    hasher.update(data.subarray(10, 20));
    expect(hasher.digest()).toBe(expected('sha256', data.subarray(0, 20)));
    expect((await hashing.resume('sha256', state))!.digest()).toBe(expected('sha256', data.subarray(0, 10)));
  });

  it('does not resume a state it does not understand', async () => {
    expect(await hashing.resume('sha256', 'bogus:abc')).toBeUndefined();
  });
});

describe('node hashing', () => {
  it('resumes hash-wasm states written by a Lambda', async () => {
    const wasm = (await wasmHashing.resume('sha256'))!;
    wasm.update(data.subarray(0, 1000));
    const resumed = (await nodeHashing().resume('sha256', wasm.save()))!;
    resumed.update(data.subarray(1000));
    expect(resumed.digest()).toBe(expected('sha256', data));
  });

  it('reports a live state lost to a restart as not resumable', async () => {
    const before = nodeHashing();
    const hasher = (await before.resume('sha256'))!;
    hasher.update(data);
    const state = hasher.save();
    expect(await nodeHashing().resume('sha256', state)).toBeUndefined();
  });
});

describe('hash-wasm hashers sharing one instance', () => {
  it('keeps interleaved hashers apart, whatever order they run in', async () => {
    const inputs = [0, 1, 2, 3].map((seed) => data.map((byte) => (byte * (seed + 3) + seed) & 0xff));
    const hashers = await Promise.all(inputs.map((_, index) => (index % 2 ? wasmHashing.oneShot('sha256') : wasmHashing.resume('sha256'))));
    // Hashers take turns chunk by chunk, one saves and another resumes in between.
    for (let at = 0; at < data.byteLength; at += 9_999) {
      for (const [index, hasher] of hashers.entries()) {
        hasher!.update(inputs[index]!.subarray(at, at + 9_999));
        if (index === 1 && at === 9_999 * 3) {
          const state = hasher!.save();
          hashers[index] = await wasmHashing.resume('sha256', state);
        }
      }
    }
    const sha512 = (await wasmHashing.resume('sha512'))!;
    sha512.update(data);
    expect(hashers.map((hasher) => hasher!.digest())).toEqual(inputs.map((bytes) => expected('sha256', bytes)));
    expect(sha512.digest()).toBe(expected('sha512', data));
  });

  it('refuses a foreign state without disturbing a hasher in progress', async () => {
    const hasher = (await wasmHashing.resume('sha256'))!;
    hasher.update(data.subarray(0, 1000));
    const sha512State = (await wasmHashing.resume('sha512'))!.save();
    expect(await wasmHashing.resume('sha256', sha512State)).toBeUndefined();
    expect(await wasmHashing.resume('sha256', 'wasm:AAAA')).toBeUndefined();
    hasher.update(data.subarray(1000));
    expect(hasher.digest()).toBe(expected('sha256', data));
  });

  it('refuses to be used after its digest', async () => {
    const hasher = (await wasmHashing.resume('sha256'))!;
    hasher.update(data.subarray(0, 10));
    hasher.digest();
    expect(() => hasher.update(data)).toThrow();
  });
});
