import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Failures API Gateway answers itself, before or instead of the function's response. */
export type GatewayError = 'bad-request' | 'head-too-large' | 'body-too-large' | 'event-too-large' | 'timeout' | 'integration-failed' | 'internal';

/**
 * API Gateway's own answers. A request that is not valid HTTP/1.1 (an unknown method,
 * conflicting or unknown framing, CONNECT) never reaches the function: 400. A request line
 * and header values over the HTTP API quota of 10240 bytes get 400 with the message API
 * Gateway is reported to send (AWS documents the quota, not the answer). Bodies over the
 * payload quota, and events Lambda refuses as too large, get 413; an integration that does
 * not answer within 30 s gets 503; a function that fails or returns an unusable result 500.
 */
const GATEWAY_ERRORS: Record<GatewayError, { status: number; message: string }> = {
  'bad-request': { status: 400, message: 'Bad Request' },
  'head-too-large': { status: 400, message: 'HTTP header is larger than 10240 bytes.' },
  'body-too-large': { status: 413, message: 'Request Entity Too Large' },
  'event-too-large': { status: 413, message: 'Request Too Long' },
  timeout: { status: 503, message: 'Service Unavailable' },
  'integration-failed': { status: 500, message: 'Internal Server Error' },
  internal: { status: 500, message: 'Internal Server Error' },
};

/** An API Gateway answer written straight to a socket node could not parse a request from; then closed. */
export function writeGatewayErrorToSocket(socket: Duplex, error: GatewayError, requestId: string): void {
  const { status, message } = GATEWAY_ERRORS[error];
  const body = JSON.stringify({ message });
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`,
    `apigw-requestid: ${requestId}`, 'connection: close', '', ''].join('\r\n');
  socket.on('error', () => socket.destroy());
  socket.end(head + body, () => socket.destroy());
}

export function sendGatewayError(res: ServerResponse, error: GatewayError, requestId: string, method: string | undefined): void {
  const { status, message } = GATEWAY_ERRORS[error];
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'apigw-requestid': requestId,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * Writes a payload 2.0 result as API Gateway does: a structured result as given (base64
 * bodies decoded, cookies as Set-Cookie headers, Content-Length from the body), anything
 * else as a 200 JSON body.
 */
export async function sendLambdaResult(res: ServerResponse, result: APIGatewayProxyResultV2, requestId: string, method: string | undefined): Promise<void> {
  const structured: APIGatewayProxyStructuredResultV2 = isStructured(result)
    ? result
    : { statusCode: 200, headers: { 'content-type': 'application/json' }, body: typeof result === 'string' ? result : JSON.stringify(result) };
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  headers['apigw-requestid'] = requestId;
  const body = Buffer.from(structured.body ?? '', structured.isBase64Encoded ? 'base64' : 'utf8');
  // HEAD answers carry the function's Content-Length (the size of what GET would send).
  if (method !== 'HEAD') headers['content-length'] = String(body.byteLength);
  res.writeHead(structured.statusCode ?? 200, headers);
  await new Promise<void>((resolve) => res.end(method === 'HEAD' ? undefined : body, () => resolve()));
}

/** The status API Gateway sends for this result. */
export function resultStatus(result: APIGatewayProxyResultV2): number {
  return isStructured(result) ? result.statusCode ?? 200 : 200;
}

function isStructured(result: APIGatewayProxyResultV2): result is APIGatewayProxyStructuredResultV2 {
  return typeof result === 'object' && result !== null && 'statusCode' in result;
}
