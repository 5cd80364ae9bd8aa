/**
 * Arrays for the parts a buffered store (S3) takes, kept for the next part. A fresh array of
 * 8–16 MiB costs page faults to fill and garbage to collect on every part; in a Lambda
 * container, which serves one request at a time, the same two arrays serve every PATCH.
 *
 * An array comes back only once the store call that read it has settled, never while an
 * abandoned write (a lost lease stops waiting for it) may still be sending it.
 */

/** Free arrays kept per part size: one part filling while the previous one uploads. */
const KEPT_PER_SIZE = 2;

const free = new Map<number, Uint8Array[]>();

/** `chunks` joined into an array of `capacity` bytes (taken from the free ones if it can), and how to hand it back. */
export function joinIntoPart(chunks: readonly Uint8Array[], size: number, capacity: number): { bytes: Uint8Array; release(): void } {
  if (size > capacity) throw new RangeError(`a part of ${size} bytes does not fit ${capacity}`);
  const array = free.get(capacity)?.pop() ?? new Uint8Array(capacity);
  let at = 0;
  for (const chunk of chunks) {
    array.set(chunk, at);
    at += chunk.byteLength;
  }
  let released = false;
  return {
    bytes: array.subarray(0, size),
    release() {
      if (released) return;
      released = true;
      const kept = free.get(capacity) ?? [];
      if (kept.length < KEPT_PER_SIZE) kept.push(array);
      free.set(capacity, kept);
    },
  };
}
