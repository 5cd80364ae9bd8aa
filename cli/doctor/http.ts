import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

/** A request body: bytes in memory (small), or a stream generated on demand, sized or chunked. */
export type RequestBody =
  | { kind: 'bytes'; bytes: Uint8Array }
  /** `sized`: Content-Length, as skopeo sends; else Transfer-Encoding: chunked, as docker does. */
  | { kind: 'stream'; length: number; sized: boolean; chunks: AsyncIterable<Buffer> };

/** Where a request stood when it failed. */
export type Phase = 'connect' | 'send' | 'wait' | 'receive';

export type FailureKind = 'timeout' | 'refused' | 'dns' | 'tls' | 'reset' | 'unreachable' | 'aborted' | 'other';

export interface NetworkFailure {
  kind: FailureKind;
  /** The system or TLS error code (ECONNREFUSED, CERT_HAS_EXPIRED, ...). */
  code: string;
  message: string;
  phase: Phase;
}

/** Everything doctor saw of one request: what it answered, or how it failed, and when. */
export interface Exchange {
  method: string;
  url: URL;
  status?: number;
  headers: Record<string, string>;
  /** The start of the response body (up to 64 KiB), unless a sink took it. */
  text: string;
  failure?: NetworkFailure;
  /** Body bytes handed to the connection, and how many there were to send. */
  bytesSent: number;
  bodyBytes: number;
  bytesReceived: number;
  /** From the start to the end of the response (or the failure). */
  elapsedMs: number;
  /** From the start to the response's status line. */
  answeredAtMs?: number;
  /** From the start to the body's last byte handed to the connection. */
  bodySentAtMs?: number;
}

export interface ExchangeOptions {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Give up after this long without progress: no connection, no byte accepted, no answer. */
  idleTimeoutMs: number;
  insecure?: boolean;
  onBytesSent?: (delta: number) => void;
  /** Takes the response body (a blob pull); else its start is kept as text. */
  sink?: (chunk: Buffer, status: number) => void;
  signal?: AbortSignal;
}

const TEXT_LIMIT = 64 * 1024;
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** Lets the process exit without waiting for idle keep-alive connections. */
export function closeConnections(): void {
  agents.http.destroy();
  agents.https.destroy();
}

/** Sends one request and reports what happened. Never throws for HTTP or network trouble. */
export function exchange(options: ExchangeOptions): Promise<Exchange> {
  const { url, method, body } = options;
  const secure = url.protocol === 'https:';
  const started = performance.now();
  const since = () => performance.now() - started;
  const result: Exchange = {
    method, url, headers: {}, text: '', bytesSent: 0, bytesReceived: 0, elapsedMs: 0,
    bodyBytes: body ? (body.kind === 'bytes' ? body.bytes.byteLength : body.length) : 0,
  };
  const headers: Record<string, string> = { ...options.headers };
  if (body?.kind === 'bytes' || (body?.kind === 'stream' && body.sized)) headers['content-length'] = String(result.bodyBytes);
  else if (body?.kind === 'stream') headers['transfer-encoding'] = 'chunked';
  else if (['POST', 'PUT', 'PATCH'].includes(method)) headers['content-length'] = '0';

  return new Promise<Exchange>((resolve) => {
    let connected = false;
    let finished = false;
    /** Set when doctor itself ends the request (timeout, Ctrl-C): that, not the reset it causes, is the story. */
    let ended: NetworkFailure | undefined;
    const finish = (failure?: NetworkFailure) => {
      if (finished) return;
      finished = true;
      options.signal?.removeEventListener('abort', onAbort);
      result.elapsedMs = since();
      if (ended ?? failure) result.failure = ended ?? failure;
      resolve(result);
    };
    const phase = (): Phase => (result.answeredAtMs !== undefined ? 'receive' : !connected ? 'connect' : body && result.bodySentAtMs === undefined ? 'send' : 'wait');
    const endRequest = (code: string, message: string) => {
      const error = Object.assign(new Error(message), { code });
      ended = classify(error, phase());
      request.destroy(error);
    };
    const send = secure ? httpsRequest : httpRequest;
    const request: ClientRequest = send(url, {
      method, headers, agent: secure ? agents.https : agents.http, timeout: options.idleTimeoutMs,
      ...(secure && options.insecure ? { rejectUnauthorized: false } : {}),
    });
    const onAbort = () => endRequest('DOCTOR_ABORTED', 'cancelled');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort);
    request.on('timeout', () => endRequest('DOCTOR_TIMEOUT', `no progress for ${Math.round(options.idleTimeoutMs / 1000)} s`));
    request.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once(secure ? 'secureConnect' : 'connect', () => (connected = true));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      // Once answered, the response decides (a server may answer a 413 and close while the body still goes).
      if (result.answeredAtMs !== undefined && !ended) return;
      finish(classify(error, phase()));
    });
    request.on('response', (response: IncomingMessage) => readResponse(response, result, since, options.sink, (failure) => {
      // Answered before the whole body went: drop the connection rather than reuse it mid-body.
      if (body && result.bodySentAtMs === undefined) request.destroy();
      finish(failure);
    }));
    void writeBody(request, body, result, since, options.onBytesSent);
  });
}

/** Records the answer: status, headers, and the body (its start as text, or all of it to a sink). */
function readResponse(response: IncomingMessage, result: Exchange, since: () => number, sink: ExchangeOptions['sink'], done: (failure?: NetworkFailure) => void): void {
  result.answeredAtMs = since();
  result.status = response.statusCode ?? 0;
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) result.headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  response.on('data', (chunk: Buffer) => {
    result.bytesReceived += chunk.length;
    if (sink) sink(chunk, result.status!);
    else if (result.text.length < TEXT_LIMIT) result.text += chunk.toString('utf8');
  });
  response.on('error', (error: NodeJS.ErrnoException) => done(classify(error, 'receive')));
  response.on('close', () => {
    if (!response.complete) done({ kind: 'reset', code: 'ECONNRESET', message: 'the connection closed mid-response', phase: 'receive' });
  });
  response.on('end', () => done());
}

async function writeBody(request: ClientRequest, body: RequestBody | undefined, result: Exchange, since: () => number, onBytesSent?: (delta: number) => void): Promise<void> {
  if (!body) {
    request.end();
    return;
  }
  if (body.kind === 'bytes') {
    request.end(body.bytes, () => (result.bodySentAtMs = since()));
    result.bytesSent = body.bytes.byteLength;
    return;
  }
  try {
    for await (const chunk of body.chunks) {
      if (request.destroyed || result.status !== undefined) return;
      result.bytesSent += chunk.length;
      onBytesSent?.(chunk.length);
      if (!request.write(chunk)) await drainedOrClosed(request);
    }
    if (request.destroyed) return;
    request.end(() => (result.bodySentAtMs = since()));
  } catch (error) {
    request.destroy(error as Error);
  }
}

function drainedOrClosed(request: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      request.off('drain', done);
      request.off('close', done);
      resolve();
    };
    request.on('drain', done);
    request.on('close', done);
  });
}

const TLS_CODES = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME|ALTNAME/;

/** Names what went wrong in words the diagnosis table matches on. */
export function classify(error: NodeJS.ErrnoException, phase: Phase): NetworkFailure {
  const code = error.code ?? (/socket hang up/.test(error.message) ? 'ECONNRESET' : 'UNKNOWN');
  const kind: FailureKind = code === 'DOCTOR_TIMEOUT' || code === 'ETIMEDOUT' ? 'timeout'
    : code === 'DOCTOR_ABORTED' ? 'aborted'
      : code === 'ECONNREFUSED' ? 'refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'dns'
          : TLS_CODES.test(code) || TLS_CODES.test(error.message) ? 'tls'
            : code === 'ECONNRESET' || code === 'EPIPE' ? 'reset'
              : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'unreachable'
                : 'other';
  return { kind, code, message: error.message, phase: kind === 'dns' || kind === 'refused' || kind === 'unreachable' ? 'connect' : phase };
}
