import { createCipheriv, createHash } from 'node:crypto';

const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/**
 * `size` pseudo-random bytes determined by `seed`, yielded 1 MiB at a time so a 500 MiB
 * layer never sits in memory. The AES-256-CTR keystream is fast (GB/s), identical on every
 * machine and Node version, and incompressible, which is what big test layers need.
 */
export async function* seededBytes(seed: string, size: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(`nimbus-test-bytes:${seed}`).digest();
  const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let left = size; left > 0; left -= CHUNK) {
    yield keystream.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left));
  }
}

/**
 * The same bytes as `seededBytes`, in one array. Property tests draw the seed from
 * fast-check, so a failing case replays from its seed and shrinks (sizes and seeds alike),
 * which bytes from randomBytes inside a property never do.
 */
export function seededArray(seed: string | number, size: number): Uint8Array<ArrayBuffer> {
  const key = createHash('sha256').update(`nimbus-test-bytes:${seed}`).digest();
  const bytes = new Uint8Array(size);
  const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  bytes.set(keystream.update(bytes));
  return bytes;
}
