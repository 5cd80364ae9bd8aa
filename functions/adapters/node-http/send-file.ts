import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

const BUFFER_SIZE = 1024 * 1024;

/**
 * Sends bytes [start, end] of a file to a response through two reused buffers: one being
 * read while the other drains to the socket. A plain read stream allocates a fresh buffer
 * per read, and on a large heap the garbage collection of those buffers cost as much CPU
 * as the copying itself.
 */
export async function sendFileRange(path: string, start: number, end: number, res: ServerResponse): Promise<number> {
  const file = await open(path, 'r');
  const buffers = [Buffer.allocUnsafe(BUFFER_SIZE), Buffer.allocUnsafe(BUFFER_SIZE)];
  const flushed: Array<Promise<void> | undefined> = [undefined, undefined];
  let position = start;
  let sent = 0;
  let turn = 0;
  try {
    while (position <= end) {
      await flushed[turn]; // this buffer is free again once the socket took its bytes
      if (res.destroyed) throw new Error('client closed the connection');
      const length = Math.min(BUFFER_SIZE, end - position + 1);
      const { bytesRead } = await file.read(buffers[turn]!, 0, length, position);
      if (bytesRead === 0) throw new Error(`${path} is shorter than expected`);
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      flushed[turn] = new Promise<void>((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve())));
      flushed[turn]!.catch(() => undefined);
      position += bytesRead;
      sent += bytesRead;
      turn = 1 - turn;
    }
    await Promise.all(flushed);
    await new Promise<void>((resolve) => res.end(resolve));
    return sent;
  } finally {
    await file.close();
  }
}
