import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CLIENT_ADDRESS_HEADER, REQUEST_TARGET_HEADER } from '../../core/http/headers';
import { acceptRequestHead, malformedRequest, unsupportedMethod } from '../../core/http/request-target';
import { errorResponse } from '../../core/http/responses';
import type { Logger } from '../../core/index';
import { requestHead, sendResponse, toRequest } from './convert';
import { listen } from './listen';
import { parserRefusal, writeRawResponse } from './refusals';

export interface HttpServerOptions {
  readonly fetch: (request: Request) => Promise<Response>;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  /** Origin used to build request URLs; without it, the request's Host (checked), else the bound address. */
  readonly publicOrigin?: string;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  /** Stops accepting connections and waits (up to `graceMs`) for requests in flight. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Serves a fetch handler over node:http, with one structured log line per request. Every
 * answer the transport gives itself (a request node cannot parse, CONNECT, a bad Host or
 * Transfer-Encoding, a failure in the transport) is rendered by the core's one error
 * renderer, so clients see the spec's JSON whatever they sent.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const { fetch, logger } = options;
  let inFlight = 0;
  let boundOrigin = '';
  // The exchange in progress on each socket: a parse error in its body must not write a second response.
  const responding = new WeakMap<Duplex, { framing: AbortController }>();
  // Host is checked by acceptRequestHead, so a missing one gets the spec's error, not node's bare 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    inFlight++;
    const framing = new AbortController();
    responding.set(req.socket, { framing });
    res.once('close', () => responding.delete(req.socket));
    void handle(req, res, framing.signal).finally(() => inFlight--);
  });
  // Big layers stream for minutes: no overall request timeout, but headers must come quickly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  const refuse = (socket: Duplex, refusal: Error, method: string | undefined) => {
    const requestId = crypto.randomUUID();
    const response = errorResponse(refusal, logger, requestId);
    logger.log('info', 'request', { requestId, method, status: response.status, refused: true });
    void writeRawResponse(socket, response).catch(() => socket.destroy());
  };
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // The head parsed and a handler runs (a malformed chunk, the body of an unknown
    // Transfer-Encoding): fail its body so it answers with a spec error, or lets the answer
    // it started finish; the connection closes after it (the body was never complete).
    const exchange = responding.get(socket);
    if (exchange) exchange.framing.abort(parserRefusal(error.code));
    else refuse(socket, parserRefusal(error.code), undefined);
  });
  // CONNECT never reaches the request handler: node hands over the raw socket.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => refuse(socket, unsupportedMethod('CONNECT'), 'CONNECT'));
  // Any Expect but 100-continue; node would answer a bare 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = malformedRequest(`Expect: ${JSON.stringify(String(req.headers.expect).slice(0, 40))} is not supported; only 100-continue is`, 417);
    res.shouldKeepAlive = false;
    void sendResponse(errorResponse(refusal, logger, crypto.randomUUID()), res, req.method === 'HEAD').catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse, framing: AbortSignal): Promise<void> {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    let bytesIn = 0;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    let status = 500;
    let bytesOut = 0;
    let response: Response;
    try {
      const head = acceptRequestHead(requestHead(req));
      const origin = options.publicOrigin ?? (head.authority ? `http://${head.authority}` : boundOrigin);
      // Never add a 'data' listener to req: it would switch the stream to flowing mode and
      // steal chunks from the body stream. Bytes are counted as the body is read.
      const request = toRequest(req, origin, head.target, { signal: abort.signal, framing, onBytes: (count) => (bytesIn += count) });
      request.headers.set('x-request-id', requestId);
      // Each overwrites any client-sent value, so the layers above can trust them: login
      // limits key on the address, the router routes on the target exactly as sent.
      request.headers.set(CLIENT_ADDRESS_HEADER, req.socket.remoteAddress ?? 'unknown');
      request.headers.set(REQUEST_TARGET_HEADER, head.target);
      response = await fetch(request);
    } catch (error) {
      response = errorResponse(error, logger, requestId);
    }
    try {
      status = response.status;
      // A body the handler left unread (a rejected upload) is not worth draining: close instead.
      if (!req.complete) res.shouldKeepAlive = false;
      bytesOut = await sendResponse(response, res, req.method === 'HEAD');
    } catch (error) {
      logger.log('warn', 'response failed in transport', { requestId, error: error instanceof Error ? error.message : String(error) });
      res.destroy();
    } finally {
      // The path only: query strings carry upload capabilities, which must not reach logs.
      const path = (req.url ?? '/').split('?')[0]!.slice(0, 1024);
      logger.log('info', 'request', {
        requestId, method: req.method, path, status, bytesIn, bytesOut,
        ms: Math.round(performance.now() - started),
      });
    }
  }

  const url = await listen(server, options.port, options.host);
  boundOrigin = url;
  return {
    server,
    url,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      server.closeAllConnections();
      await closed;
    },
  };
}
