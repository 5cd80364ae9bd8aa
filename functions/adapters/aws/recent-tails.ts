/**
 * The staged tails this store wrote last, kept in memory. A client sends its chunks one
 * after the other, so its next PATCH usually reaches the same warm container, which then
 * folds the tail into a part without reading it back from S3 (a GetObject of up to 5 MiB).
 * A staged object is written once under a name never used again, and never changed, so the
 * kept bytes are the object's. Bounded: the last few tails only; another container, or a
 * tail pushed out, reads S3 as before.
 */
export class RecentTails {
  private readonly tails = new Map<string, Uint8Array>();

  constructor(private readonly limit = 2) {}

  /** After S3 stored `bytes` under `key`. The core never changes bytes it staged. */
  remember(key: string, bytes: Uint8Array): void {
    this.tails.delete(key);
    this.tails.set(key, bytes);
    for (const oldest of this.tails.keys()) {
      if (this.tails.size <= this.limit) break;
      this.tails.delete(oldest);
    }
  }

  get(key: string): Uint8Array | undefined {
    return this.tails.get(key);
  }

  forget(key: string): void {
    this.tails.delete(key);
  }

  /** Every tail under `prefix` (an upload's staging prefix). */
  forgetUnder(prefix: string): void {
    for (const key of [...this.tails.keys()]) if (key.startsWith(prefix)) this.tails.delete(key);
  }
}
