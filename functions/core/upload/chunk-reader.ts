import { RegistryError } from '../errors';
import type { ByteSource, ResumableHasher } from '../ports';
import type { Fence } from './lease';

/**
 * Pulls a request body chunk by chunk, hashing and counting each byte once, and hands it
 * out in bounded slices (`take`) so the body can be cut into parts without buffering it.
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pending: Uint8Array | undefined;
  private done = false;
  consumed = 0;

  constructor(
    source: ByteSource,
    private readonly hasher: ResumableHasher,
    private readonly maxBytes: number | undefined,
    private readonly fence: Fence,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Whether another byte follows; never hashes. */
  async hasMore(): Promise<boolean> {
    while (!this.pending && !this.done) {
      const next = await this.nextChunk();
      if (next.done) this.done = true;
      else if (next.value.byteLength > 0) this.pending = next.value;
    }
    return this.pending !== undefined;
  }

  /** Whether the body has ended and every byte of it was taken: known without waiting. */
  get exhausted(): boolean {
    return this.done && this.pending === undefined;
  }

  /**
   * A body that fails to arrive (the client went away) is the client's problem, not a 500.
   * The wait ends early when the upload's lease is lost or the client stalls.
   */
  private nextChunk(): Promise<IteratorResult<Uint8Array>> {
    const next = this.iterator.next().catch(() => {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete; check the upload status and resume', {
        detail: { received: this.consumed },
      });
    });
    return this.fence.waitForBody(next);
  }

  /** Yields up to `limit` bytes, hashing them as they go out. */
  async *take(limit: number): AsyncGenerator<Uint8Array> {
    let left = limit;
    while (left > 0 && (await this.hasMore())) {
      let chunk = this.pending!;
      this.pending = undefined;
      if (chunk.byteLength > left) {
        this.pending = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.byteLength;
      this.consumed += chunk.byteLength;
      if (this.maxBytes !== undefined && this.consumed > this.maxBytes) {
        throw new RegistryError('SIZE_INVALID', `request body exceeds this endpoint's limit of ${this.maxBytes} bytes; send smaller chunks`, {
          status: 413,
          detail: { limit: this.maxBytes },
        });
      }
      this.hasher.update(chunk);
      yield chunk;
    }
  }
}
