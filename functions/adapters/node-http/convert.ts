import type { IncomingMessage, ServerResponse } from 'node:http';
import { FileBody } from '../node/file-body';
import { sendFileRange } from './send-file';

/**
 * node:http ⇄ web Request/Response. Bodies stay streams in both directions, so a 1 GiB
 * PATCH or blob GET never sits in memory.
 */
export function toRequest(req: IncomingMessage, origin: string, signal: AbortSignal, onBytes?: (count: number) => void): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD'
    && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'));
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = bodyStream(req, onBytes);
    init.duplex = 'half';
  }
  return new Request(origin + (req.url ?? '/'), init);
}

/**
 * The request body as a web stream that hands over node's chunks as they are.
 * Readable.toWeb copies every chunk (to detach it from a buffer pool that socket reads do
 * not use), which doubled the CPU and GC cost of a layer upload.
 */
function bodyStream(req: IncomingMessage, onBytes?: (count: number) => void): ReadableStream<Uint8Array> {
  // 'data' events deliver each socket read as is; the async iterator would concatenate
  // buffered chunks into new buffers (more copying and garbage).
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on('data', (chunk: Buffer) => {
        onBytes?.(chunk.byteLength);
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once('end', () => controller.close());
      req.once('error', (error) => controller.error(error));
      req.once('close', () => {
        if (!req.complete) controller.error(new Error('the client closed the connection before the body was complete'));
      });
      req.pause();
    },
    pull() {
      req.resume();
    },
    cancel() {
      req.destroy();
    },
  }, { highWaterMark: 4 });
}

/** Writes a web Response to a node ServerResponse; resolves with the body bytes sent. */
export async function sendResponse(response: Response, res: ServerResponse, isHead: boolean): Promise<number> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (isHead || !response.body) {
    res.end();
    await response.body?.cancel();
    return 0;
  }
  let sent = 0;
  if (response.body instanceof FileBody) {
    // Local blobs: copy the file to the socket directly, not through a web stream.
    const { path, start, end } = response.body.file;
    return sendFileRange(path, start, end, res);
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sent += value.byteLength;
      if (!res.write(value)) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => { cleanup(); resolve(); };
          const onClose = () => { cleanup(); reject(new Error('client closed the connection')); };
          const cleanup = () => { res.off('drain', onDrain); res.off('close', onClose); };
          res.on('drain', onDrain);
          res.on('close', onClose);
        });
      }
    }
    res.end();
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    res.destroy();
    throw error;
  }
  return sent;
}
