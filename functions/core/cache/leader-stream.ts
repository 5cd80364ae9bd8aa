import type { BlobStore } from '../ports';
import type { BlobRecord } from '../records';

/** Bytes a requester may have waiting before it is detached from the live stream. */
const LIVE_QUEUE_BYTES = 16 * 1024 * 1024;

/**
 * The first requester's answer while a blob is filled: the upstream's bytes as they arrive, and
 * its end only once the blob is verified and stored (an upstream or digest failure errors it).
 * A requester slower than the upstream is not buffered without bound: once LIVE_QUEUE_BYTES wait
 * for it, it stops receiving live bytes and, when the blob is stored, reads the rest from storage.
 * The fill never waits for it, so the blob is stored at the upstream's pace for everyone else.
 */
export class LeaderStream {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  /** Bytes handed to the queue so far: where reading from storage resumes once detached. */
  private offset = 0;
  private detached = false;
  private cancelled = false;
  private record: BlobRecord | undefined;
  private failure: { error: unknown } | undefined;
  private rest: AsyncIterator<Uint8Array> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly blobs: BlobStore) {
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => this.pull(controller),
      cancel: async () => {
        this.cancelled = true;
        this.queue.length = 0;
        await this.rest?.return?.();
      },
    }, { highWaterMark: 0 });
  }

  push(chunk: Uint8Array): void {
    if (this.cancelled || this.detached) return;
    if (this.queued + chunk.byteLength > LIVE_QUEUE_BYTES) {
      this.detached = true;
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    this.offset += chunk.byteLength;
    this.signal();
  }

  finish(record: BlobRecord): void {
    this.record = record;
    this.signal();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.signal();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.queued -= chunk.byteLength;
        return controller.enqueue(chunk);
      }
      if (this.failure) return controller.error(this.failure.error);
      if (this.record) return this.fromStorage(controller, this.record);
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  private async fromStorage(controller: ReadableStreamDefaultController<Uint8Array>, record: BlobRecord): Promise<void> {
    if (!this.detached || this.offset >= record.size) return controller.close();
    this.rest ??= (await this.blobs.read(record.location, { start: this.offset, end: record.size - 1 })).body[Symbol.asyncIterator]();
    const next = await this.rest.next();
    if (next.done) return controller.close();
    controller.enqueue(next.value);
  }
}
