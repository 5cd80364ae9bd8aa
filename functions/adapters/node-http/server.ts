import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { CLIENT_ADDRESS_HEADER, REQUEST_TARGET_HEADER } from '../../core/http/headers';
import { acceptRequestHead } from '../../core/http/request-target';
import { errorResponse } from '../../core/http/responses';
import type { Logger } from '../../core/index';
import { requestHead, sendResponse, toRequest } from './convert';
import { listen } from './listen';
import { answerUnservableRequests } from './refusals';

export interface HttpServerOptions {
  readonly fetch: (request: Request) => Promise<Response>;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  /** Origin used to build request URLs; without it, the request's Host (checked), else the bound address. */
  readonly publicOrigin?: string;
  /** PEM certificate chain and key: serve HTTPS (TLS 1.2 or newer) instead of plain HTTP. */
  readonly tls?: TlsMaterial;
  /** Called with each finished exchange (metrics). */
  readonly onExchange?: (exchange: ExchangeRecord) => void;
  /** Hears each request begin and, once its answer is sent or failed, end (idle memory release). */
  readonly activity?: { begin(): void; end(): void };
}

export interface TlsMaterial {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface ExchangeRecord {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly seconds: number;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  /**
   * Replaces the certificate and key for new connections. Throws (and keeps serving the old
   * ones) when they are unusable: a key that does not match, a file that is not PEM.
   */
  reloadTls(material: TlsMaterial): void;
  /**
   * Stops accepting connections and waits (up to `graceMs`) for requests in flight, then
   * closes every connection; `onCut` hears how many requests were still in flight then.
   */
  close(graceMs?: number, onCut?: (requests: number) => void): Promise<void>;
}

/**
 * Serves a fetch handler over node:http, with one structured log line per request. Every
 * answer the transport gives itself (a request node cannot parse, CONNECT, a bad Host or
 * Transfer-Encoding, a failure in the transport) is rendered by the core's one error
 * renderer, so clients see the spec's JSON whatever they sent.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  let inFlight = 0;
  let boundOrigin = '';
  // The body of the exchange in progress on each socket, failed when node finds its framing broken.
  const framings = new WeakMap<Duplex, AbortController>();
  // Host is checked by acceptRequestHead, so a missing one gets the spec's error, not node's bare 400.
  const scheme = options.tls ? 'https' : 'http';
  const onRequest: RequestListener = (req, res) => {
    inFlight++;
    options.activity?.begin();
    const framing = new AbortController();
    framings.set(req.socket, framing);
    res.once('close', () => framings.delete(req.socket));
    void serveRequest(req, res, { ...options, scheme, origin: boundOrigin, framing: framing.signal }).finally(() => {
      inFlight--;
      options.activity?.end();
    });
  };
  const tlsServer: TlsServer | undefined = options.tls
    ? createTlsServer({ requireHostHeader: false, minVersion: 'TLSv1.2', cert: options.tls.cert, key: options.tls.key }, onRequest)
    : undefined;
  const server: Server = tlsServer ?? createServer({ requireHostHeader: false }, onRequest);
  // Big layers stream for minutes: no overall request timeout, but headers must come quickly.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  answerUnservableRequests(server, options.logger, (socket) => framings.get(socket));

  const url = await listen(server, options.port, options.host, scheme);
  boundOrigin = url;
  return {
    server,
    url,
    reloadTls(material) {
      if (!tlsServer) throw new Error('this server speaks plain HTTP: set NIMBUS_TLS_CERT and NIMBUS_TLS_KEY at start');
      // setSecureContext builds the context first: a bad pair throws and leaves the old one serving.
      tlsServer.setSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
    },
    async close(graceMs = 10_000, onCut) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (inFlight > 0) onCut?.(inFlight);
      server.closeAllConnections();
      await closed;
    },
  };
}

interface Exchange extends HttpServerOptions {
  /** Where request URLs point when the request names no valid host. */
  readonly origin: string;
  readonly framing: AbortSignal;
  readonly scheme: 'http' | 'https';
}

async function serveRequest(req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> {
  const { fetch, logger } = exchange;
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
    const origin = exchange.publicOrigin ?? (head.authority ? `${exchange.scheme}://${head.authority}` : exchange.origin);
    // Never add a 'data' listener to req: it would switch the stream to flowing mode and
    // steal chunks from the body stream. Bytes are counted as the body is read.
    const request = toRequest(req, origin, head.target, { signal: abort.signal, framing: exchange.framing, onBytes: (count) => (bytesIn += count) });
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
    const ms = performance.now() - started;
    logger.log('info', 'request', { requestId, method: req.method, path, status, bytesIn, bytesOut, ms: Math.round(ms) });
    exchange.onExchange?.({ method: req.method ?? '', path, status, bytesIn, bytesOut, seconds: ms / 1000 });
  }
}
