import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PartResponse {
  status: number;
  etag: string | undefined;
  /** The start of the body, for error messages (S3 answers XML). */
  body: string;
}

/** Connections to storage are reused across parts; one socket per part in flight. */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** A socket silent this long is dead: the part is retried on a new one. */
const IDLE_TIMEOUT_MS = 120_000;

/**
 * PUTs a byte range of a file to a presigned URL, streamed from disk (never held in memory),
 * with the exact Content-Length storage needs. `onBytes` is told of every chunk sent,
 * and of minus the total when the attempt fails, so progress stays truthful on retries.
 */
export function putFileRange(url: string, path: string, start: number, length: number, onBytes: (delta: number) => void): Promise<PartResponse> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  let sent = 0;
  let settled = false;
  return new Promise<PartResponse>((resolve, reject) => {
    const settle = (outcome: () => void, ok: boolean) => {
      if (settled) return;
      settled = true;
      if (!ok) onBytes(-sent);
      outcome();
    };
    const fail = (error: Error) => settle(() => reject(error), false);
    const request = send(target, {
      method: 'PUT',
      agent: secure ? agents.https : agents.http,
      headers: { 'content-length': String(length), 'content-type': 'application/octet-stream' },
      timeout: IDLE_TIMEOUT_MS,
    });
    request.on('timeout', () => request.destroy(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`)));
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      response.on('error', fail);
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const etag = response.headers.etag;
        const ok = status >= 200 && status < 300;
        settle(() => resolve({ status, etag: typeof etag === 'string' ? etag : undefined, body }), ok);
        // Storage may refuse a part before it has all of it: stop sending, and drop the connection.
        if (!ok) request.destroy();
      });
    });
    if (length === 0) {
      request.end();
      return;
    }
    const file = createReadStream(path, { start, end: start + length - 1 });
    file.on('data', (chunk) => {
      if (settled) return;
      sent += chunk.length;
      onBytes(chunk.length);
    });
    file.on('error', (error) => request.destroy(error));
    request.on('close', () => file.destroy());
    file.pipe(request);
  });
}

/** Lets the process exit without waiting for idle storage connections to time out. */
export function closeStorageConnections(): void {
  agents.http.destroy();
  agents.https.destroy();
}

/** The S3 error code of an XML error body (`<Code>RequestTimeout</Code>`). */
export function storageErrorCode(body: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
}
