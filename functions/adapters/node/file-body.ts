import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * A response body that is a byte range of a local file. It is a real ReadableStream (so
 * the core and any web runtime can consume it), but the node:http adapter recognises it
 * and copies the file straight to the socket, skipping the web-stream machinery that would
 * otherwise halve blob GET throughput.
 */
export class FileBody extends ReadableStream<Uint8Array> {
  readonly file: { path: string; start: number; end: number };

  constructor(path: string, start: number, end: number) {
    let source: ReadableStream<Uint8Array> | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    super({
      // Opened lazily: the fast path never reads through this stream.
      async pull(controller) {
        if (!reader) {
          source = Readable.toWeb(createReadStream(path, { start, end, highWaterMark: 1024 * 1024 })) as ReadableStream<Uint8Array>;
          reader = source.getReader();
        }
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    });
    this.file = { path, start, end };
  }
}
