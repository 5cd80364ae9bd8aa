import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isGatewayTextType } from '../adapters/apigw/content-types';

export interface GatewayIdentity {
  readonly apiId: string;
  readonly accountId: string;
  readonly requestId: string;
  /** When API Gateway received the request, epoch ms. */
  readonly receivedAt: number;
}

/**
 * The event API Gateway (HTTP API, payload 2.0, $default route and stage) would send
 * for this request: header names lower-cased and repeats joined with commas, cookies
 * split out, path and query exactly as sent, and the body base64-encoded unless its
 * content type is text.
 */
export function gatewayEvent(req: IncomingMessage, body: Buffer, identity: GatewayIdentity): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((cookie) => cookie.trim()).filter(Boolean));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const host = headers.host ?? '127.0.0.1';
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-amzn-trace-id'] = `Root=1-${Math.floor(identity.receivedAt / 1000).toString(16)}-${identity.requestId.replace(/-/g, '').slice(0, 24)}`;

  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
  const method = req.method ?? 'GET';

  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: identity.accountId,
      apiId: identity.apiId,
      domainName: host.replace(/:\d+$/, ''),
      domainPrefix: host.split('.')[0]!.replace(/:\d+$/, ''),
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: headers['x-forwarded-for'],
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: identity.requestId,
      routeKey: '$default',
      stage: '$default',
      time: gatewayTime(identity.receivedAt),
      timeEpoch: identity.receivedAt,
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  const query = queryParameters(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (body.byteLength > 0) {
    const text = isGatewayTextType(headers['content-type']);
    event.body = body.toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

/** Decoded query parameters, repeats joined with commas, as payload 2.0 carries them. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    out[name] = name in out ? `${out[name]},${value}` : value;
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** requestContext.time: 12/Mar/2030:19:03:58 +0000. */
function gatewayTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}
