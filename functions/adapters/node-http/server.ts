import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CLIENT_ADDRESS_HEADER } from '../../core/http/headers';
import type { Logger } from '../../core/index';
import { sendResponse, toRequest } from './convert';
import { listen } from './listen';

export interface HttpServerOptions {
  readonly fetch: (request: Request) => Promise<Response>;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  /** Origin used to build request URLs when the Host header is missing. */
  readonly publicOrigin?: string;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  /** Stops accepting connections and waits (up to `graceMs`) for requests in flight. */
  close(graceMs?: number): Promise<void>;
}

/** Serves a fetch handler over node:http, with one structured log line per request. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const { fetch, logger } = options;
  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    void handle(req, res).finally(() => inFlight--);
  });
  // Big layers stream for minutes: no overall request timeout, but headers must come quickly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = crypto.randomUUID();
    let bytesIn = 0;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const origin = options.publicOrigin ?? `http://${req.headers.host ?? `${options.host}:${options.port}`}`;
    let status = 500;
    let bytesOut = 0;
    try {
      // Never add a 'data' listener to req: it would switch the stream to flowing mode and
      // steal chunks from the body stream. Bytes are counted as the body is read.
      const request = toRequest(req, origin, abort.signal, (count) => (bytesIn += count));
      request.headers.set('x-request-id', requestId);
      // Overwrites any client-sent value, so the auth layer can trust it (login rate limits).
      request.headers.set(CLIENT_ADDRESS_HEADER, req.socket.remoteAddress ?? 'unknown');
      const response = await fetch(request);
      status = response.status;
      // A body the handler left unread (a rejected upload) is not worth draining: close instead.
      if (!req.complete) res.shouldKeepAlive = false;
      bytesOut = await sendResponse(response, res, req.method === 'HEAD');
    } catch (error) {
      logger.log('warn', 'request failed in transport', { requestId, error: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { requestId } }] }));
      } else {
        res.destroy();
      }
    } finally {
      // The path only: query strings carry upload capabilities, which must not reach logs.
      const path = (req.url ?? '/').split('?')[0];
      logger.log('info', 'request', {
        requestId, method: req.method, path, status, bytesIn, bytesOut,
        ms: Math.round(performance.now() - started),
      });
    }
  }

  const url = await listen(server, options.port, options.host);
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
