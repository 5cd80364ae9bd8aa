import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * node:http ⇄ web Request/Response. Bodies stay streams in both directions, so a 1 GiB
 * PATCH or blob GET never sits in memory.
 */
export function toRequest(req: IncomingMessage, origin: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD'
    && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'));
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(origin + (req.url ?? '/'), init);
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
