import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { listen } from '../adapters/node-http/listen';
import {
  API_GATEWAY_MAX_BODY_BYTES, API_GATEWAY_MAX_HEAD_BYTES, API_GATEWAY_TIMEOUT_MS, LAMBDA_MAX_EVENT_BYTES, LAMBDA_MAX_RESPONSE_BYTES,
} from '../adapters/apigw/limits';
import { gatewayEvent } from './gateway-event';
import { lambdaContext, type FunctionIdentity } from './lambda-context';
import { resultStatus, sendGatewayError, sendLambdaResult, writeGatewayErrorToSocket, type GatewayError } from './gateway-response';

export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

export interface GatewayLimits {
  /** @default API_GATEWAY_MAX_BODY_BYTES (10 MB) */
  readonly maxBodyBytes: number;
  /** @default LAMBDA_MAX_EVENT_BYTES (6 MB) */
  readonly maxEventBytes: number;
  /** @default API_GATEWAY_TIMEOUT_MS (30 s) */
  readonly timeoutMs: number;
}

export interface GatewayServerOptions {
  readonly handler: LambdaHandler;
  readonly host: string;
  readonly port: number;
  readonly function: Omit<FunctionIdentity, 'timeoutMs'> & { timeoutMs?: number };
  readonly limits?: Partial<GatewayLimits>;
  /** One access-log entry per request, as the HTTP API stage would write it. */
  readonly accessLog?: (entry: Record<string, unknown>) => void;
}

export interface RunningGateway {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Past the body limit, bytes are read and dropped up to this much, so the client sees the 413. */
const DRAIN_ALLOWANCE_BYTES = 64 * 1024 * 1024;

/**
 * A local stand-in for an API Gateway HTTP API with one Lambda integration on the
 * $default route and stage: it refuses what is not HTTP it can parse (400) and request
 * lines plus header values over 10240 bytes (400), buffers the request as API Gateway
 * does, refuses bodies over 10 MB (413) and events over Lambda's 6 MB (413), builds the
 * payload 2.0 event (path and query as sent), invokes the handler in-process and gives up
 * after 30 s (503), and answers failures with API Gateway's own {"message": ...} bodies.
 */
export async function startGatewayServer(options: GatewayServerOptions): Promise<RunningGateway> {
  const limits: GatewayLimits = {
    maxBodyBytes: options.limits?.maxBodyBytes ?? API_GATEWAY_MAX_BODY_BYTES,
    maxEventBytes: options.limits?.maxEventBytes ?? LAMBDA_MAX_EVENT_BYTES,
    timeoutMs: options.limits?.timeoutMs ?? API_GATEWAY_TIMEOUT_MS,
  };
  const fn: FunctionIdentity = { ...options.function, timeoutMs: options.function.timeoutMs ?? limits.timeoutMs };
  const apiId = randomBytes(5).toString('hex');

  // A request without Host is refused below, as API Gateway (which routes on it) does, not with node's bare 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendGatewayError(res, 'internal', gatewayRequestId(), req.method);
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  // What API Gateway's front door refuses itself: requests that are not HTTP/1.1 it can
  // parse, and CONNECT. They never become events.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    writeGatewayErrorToSocket(socket, error.code === 'HPE_HEADER_OVERFLOW' ? 'head-too-large' : 'bad-request', gatewayRequestId());
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => writeGatewayErrorToSocket(socket, 'bad-request', gatewayRequestId()));

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const requestId = gatewayRequestId();
    let outcome: { status: number; error?: GatewayError; integrationStatus?: number } = { status: 0 };
    res.on('finish', () => options.accessLog?.({
      requestId, method: req.method, path: (req.url ?? '/').split('?')[0], status: outcome.status,
      integrationStatus: outcome.integrationStatus ?? null, error: outcome.error ?? null, latencyMs: Date.now() - receivedAt,
    }));

    if (req.headers.host === undefined && req.httpVersion !== '1.0') {
      outcome = { status: 400, error: 'bad-request' };
      res.shouldKeepAlive = false;
      return sendGatewayError(res, 'bad-request', requestId, req.method);
    }
    if (requestHeadBytes(req) > API_GATEWAY_MAX_HEAD_BYTES) {
      outcome = { status: 400, error: 'head-too-large' };
      res.shouldKeepAlive = false;
      return sendGatewayError(res, 'head-too-large', requestId, req.method);
    }
    const body = await readBody(req, limits.maxBodyBytes);
    if (body === 'too-large') {
      outcome = { status: 413, error: 'body-too-large' };
      return sendGatewayError(res, 'body-too-large', requestId, req.method);
    }
    const event = gatewayEvent(req, body, { apiId, accountId: fn.accountId, requestId, receivedAt });
    if (Buffer.byteLength(JSON.stringify(event)) > limits.maxEventBytes) {
      outcome = { status: 413, error: 'event-too-large' };
      return sendGatewayError(res, 'event-too-large', requestId, req.method);
    }

    const invoked = invoke(options.handler, event, lambdaContext(fn));
    const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), limits.timeoutMs).unref());
    const result = await Promise.race([invoked, timedOut]);
    if (result === 'timeout') {
      outcome = { status: 503, error: 'timeout' };
      return sendGatewayError(res, 'timeout', requestId, req.method);
    }
    if ('error' in result || Buffer.byteLength(JSON.stringify(result.value) ?? '') > LAMBDA_MAX_RESPONSE_BYTES) {
      outcome = { status: 500, error: 'integration-failed', integrationStatus: 'error' in result ? 200 : 413 };
      return sendGatewayError(res, 'integration-failed', requestId, req.method);
    }
    outcome = { status: resultStatus(result.value), integrationStatus: 200 };
    await sendLambdaResult(res, result.value, requestId, req.method);
  }

  const url = await listen(server, options.port, options.host);
  return {
    server,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function invoke(handler: LambdaHandler, event: APIGatewayProxyEventV2, context: Context): Promise<{ value: APIGatewayProxyResultV2 } | { error: unknown }> {
  try {
    // Through JSON, as the Lambda service passes events and results: no shared objects.
    const value = await handler(JSON.parse(JSON.stringify(event)) as APIGatewayProxyEventV2, context);
    return { value: JSON.parse(JSON.stringify(value ?? null)) as APIGatewayProxyResultV2 };
  } catch (error) {
    console.error(JSON.stringify({ level: 'ERROR', message: 'Invoke Error', requestId: context.awsRequestId, error: String(error) }));
    return { error };
  }
}

/** The whole body, or 'too-large' once it passes `limit` (the rest is drained, then dropped). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit + DRAIN_ALLOWANCE_BYTES) {
      req.destroy();
      break;
    }
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit || declared > limit) return 'too-large';
  return Buffer.concat(chunks, size);
}

/** What the HTTP API quota on "request line and header values" counts, in bytes. */
function requestHeadBytes(req: IncomingMessage): number {
  let size = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}`, 'latin1');
  for (let i = 1; i < req.rawHeaders.length; i += 2) size += Buffer.byteLength(req.rawHeaders[i]!, 'latin1');
  return size;
}

/** API Gateway's request ids look like "Ab3dEfGhIjKlMnO=": 16 characters. */
function gatewayRequestId(): string {
  return `${randomBytes(11).toString('base64').slice(0, 15)}=`;
}
