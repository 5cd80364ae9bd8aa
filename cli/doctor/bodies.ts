import { createCipheriv, createHash } from 'node:crypto';

const CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);
const BLOCK = 16;

/**
 * A blob doctor pushes: `size` pseudo-random bytes determined by `seed`, generated as they
 * are sent (an AES-128-CTR keystream: GB/s, incompressible, the same on every machine), so
 * a 2 GiB layer never sits in memory. Any byte range can be regenerated, which is how a
 * ranged pull is checked without keeping the blob.
 */
export class SeededBlob {
  private readonly key: Buffer;
  private cachedDigest: string | undefined;

  constructor(readonly seed: string, readonly size: number) {
    this.key = createHash('sha256').update(`nimbus-doctor:${seed}`).digest().subarray(0, 16);
  }

  /** The bytes from `start` to `end` (exclusive), at most 1 MiB per chunk, made on demand. */
  async *chunks(start = 0, end = this.size): AsyncGenerator<Buffer> {
    const counter = Buffer.alloc(BLOCK);
    counter.writeBigUInt64BE(BigInt(Math.floor(start / BLOCK)), 8);
    const keystream = createCipheriv('aes-128-ctr', this.key, counter);
    let skip = start % BLOCK;
    for (let at = start; at < end;) {
      const length = Math.min(CHUNK, end - at + skip);
      const chunk = keystream.update(ZEROS.subarray(0, length)).subarray(skip);
      skip = 0;
      at += chunk.length;
      yield chunk;
    }
  }

  /** The bytes of a small range, in one buffer (for comparing a ranged pull). */
  async slice(start: number, end: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of this.chunks(start, end)) parts.push(chunk);
    return Buffer.concat(parts);
  }

  /** The blob's digest, by generating it once (monolithic uploads need it before the body). */
  async digest(): Promise<string> {
    if (this.cachedDigest) return this.cachedDigest;
    const hash = createHash('sha256');
    for await (const chunk of this.chunks()) hash.update(chunk);
    this.cachedDigest = `sha256:${hash.digest('hex')}`;
    return this.cachedDigest;
  }

  /**
   * The chunks of the whole blob, hashed as they stream; `digest()` of the returned object
   * answers once every chunk went by (a docker-style PATCH learns the digest at its end).
   */
  hashedStream(): { chunks: AsyncGenerator<Buffer>; digest: () => string } {
    const hash = createHash('sha256');
    let result: string | undefined;
    const hashing = async function* (source: AsyncGenerator<Buffer>, done: (digest: string) => void): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
      done(`sha256:${hash.digest('hex')}`);
    };
    return {
      chunks: hashing(this.chunks(), (digest) => {
        result = digest;
        this.cachedDigest ??= digest;
      }),
      digest: () => {
        if (!result) throw new Error(`the body of ${this.seed} was not sent whole`);
        return result;
      },
    };
  }
}
