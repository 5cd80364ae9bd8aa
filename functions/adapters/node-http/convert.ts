import type { IncomingMessage, ServerResponse } from 'node:http';
import { malformedRequest, type RequestHead } from '../../core/http/request-target';
import { FileBody } from '../node/file-body';
import { sendFileRange } from './send-file';

/** What node parsed of a request's head, for the rules every transport applies. */
export function requestHead(req: IncomingMessage): RequestHead {
  const hosts: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]!);
  }
  return {
    method: req.method ?? '',
    target: req.url ?? '',
    hosts,
    transferEncoding: req.headers['transfer-encoding'],
    hostRequired: req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1),
  };
}

/**
 * node:http ⇄ web Request/Response. Bodies stay streams in both directions, so a 1 GiB
 * PATCH or blob GET never sits in memory. `target` is the origin-form target that
 * acceptRequestHead let through; the caller stamps it as REQUEST_TARGET_HEADER.
 */
export interface BodyOptions {
  /** Aborts the web Request (the client went away). */
  readonly signal: AbortSignal;
  /** Aborted with the reason when node's parser finds the body's framing broken. */
  readonly framing?: AbortSignal;
  readonly onBytes?: (count: number) => void;
}

export function toRequest(req: IncomingMessage, origin: string, target: string, options: BodyOptions): Request {
  const { signal } = options;
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD'
    && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0'));
  try {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
    if (hasBody) {
      init.body = bodyStream(req, options);
      init.duplex = 'half';
    }
    return new Request(origin + target, init);
  } catch {
    // Method, Host and target were checked; what is left (a header value) came from the client.
    throw malformedRequest('the request could not be read: a header name or value is not valid HTTP');
  }
}

/**
 * The request body as a web stream that hands over node's chunks as they are.
 * Readable.toWeb copies every chunk (to detach it from a buffer pool that socket reads do
 * not use), which doubled the CPU and GC cost of a layer upload.
 */
function bodyStream(req: IncomingMessage, { onBytes, framing }: BodyOptions): ReadableStream<Uint8Array> {
  // 'data' events deliver each socket read as is; the async iterator would concatenate
  // buffered chunks into new buffers (more copying and garbage).
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Once errored or closed, a controller throws on every further call.
      let open = true;
      const fail = (error: unknown) => {
        if (open) controller.error(error);
        open = false;
      };
      if (framing?.aborted) fail(framing.reason);
      else framing?.addEventListener('abort', () => fail(framing.reason), { once: true });
      req.on('data', (chunk: Buffer) => {
        if (!open) return;
        onBytes?.(chunk.byteLength);
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once('end', () => {
        if (open) controller.close();
        open = false;
      });
      req.once('error', fail);
      req.once('close', () => {
        if (!req.complete) fail(new Error('the client closed the connection before the body was complete'));
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
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    res.destroy();
    throw error;
  }
  return sent;
}

/** Waits until the socket takes more; rejects when the client is gone, even if it left before we asked. */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('client closed the connection'));
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => { cleanup(); resolve(); };
    const onClose = () => { cleanup(); reject(new Error('client closed the connection')); };
    const cleanup = () => { res.off('drain', onDrain); res.off('close', onClose); };
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
