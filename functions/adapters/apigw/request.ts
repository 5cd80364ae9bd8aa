import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CLIENT_ADDRESS_HEADER } from '../../core/http/headers';

/** Headers that described the client's connection to API Gateway, not this request. */
const CONNECTION_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect'];

/**
 * An API Gateway HTTP API (payload 2.0) event as a web Request. The URL is rebuilt from
 * rawPath and rawQueryString untouched: digests contain ':' and upload capabilities ride
 * in the query, so nothing may be decoded or re-encoded on the way.
 */
export function eventToRequest(event: APIGatewayProxyEventV2, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  // Payload 2.0 moves Cookie headers into `cookies`.
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  for (const name of CONNECTION_HEADERS) headers.delete(name);
  // API Gateway's view of the caller, overwriting any value the client sent: login limits key on it.
  headers.set(CLIENT_ADDRESS_HEADER, event.requestContext.http.sourceIp || 'unknown');

  const method = event.requestContext.http.method.toUpperCase();
  const protocol = headers.get('x-forwarded-proto') ?? 'https';
  const host = headers.get('host') ?? event.requestContext.domainName;
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const url = `${protocol}://${host}${event.rawPath}${query}`;

  const init: RequestInit = { method, headers };
  if (signal) init.signal = signal;
  if (method !== 'GET' && method !== 'HEAD' && event.body !== undefined) {
    const body = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
    // API Gateway buffered the whole body, even one the client sent chunked: its length is known.
    headers.set('content-length', String(body.byteLength));
    init.body = body;
  }
  return new Request(url, init);
}
