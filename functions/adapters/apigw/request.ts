import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { CLIENT_ADDRESS_HEADER, REQUEST_TARGET_HEADER } from '../../core/http/headers';
import { acceptRequestHead, malformedRequest } from '../../core/http/request-target';

/** Headers that described the client's connection to API Gateway, not this request. */
const CONNECTION_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect'];

/**
 * An API Gateway HTTP API (payload 2.0) event as a web Request. rawPath and rawQueryString
 * travel untouched: digests contain ':', upload capabilities ride in the query, and the
 * router reads the target from REQUEST_TARGET_HEADER exactly as the client sent it. A
 * request the registry cannot take as sent (a method a Request cannot carry, a bad Host, a
 * Transfer-Encoding other than chunked, a header value HTTP forbids) throws the spec error
 * to answer with.
 */
export function eventToRequest(event: APIGatewayProxyEventV2, signal?: AbortSignal): Request {
  const eventHeaders = event.headers ?? {};
  const method = event.requestContext.http.method;
  const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
  const head = acceptRequestHead({
    method,
    target: `${event.rawPath}${query}`,
    hosts: eventHeaders.host === undefined ? [] : [eventHeaders.host],
    // When API Gateway forwards the header (the dev:aws stand-in does). If it drops it after
    // undoing the chunking, a coded body could not be told from content here.
    transferEncoding: eventHeaders['transfer-encoding'],
    hostRequired: false,
  });
  const headers = new Headers();
  try {
    for (const [name, value] of Object.entries(eventHeaders)) {
      if (value !== undefined) headers.set(name, value);
    }
  } catch {
    throw malformedRequest('the request could not be read: a header name or value is not valid HTTP');
  }
  // Payload 2.0 moves Cookie headers into `cookies`.
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  for (const name of CONNECTION_HEADERS) headers.delete(name);
  // Both overwrite whatever the client sent: login limits key on API Gateway's view of the
  // caller, the router on the target as sent.
  headers.set(CLIENT_ADDRESS_HEADER, event.requestContext.http.sourceIp || 'unknown');
  headers.set(REQUEST_TARGET_HEADER, head.target);

  const forwarded = headers.get('x-forwarded-proto');
  const protocol = forwarded === 'http' || forwarded === 'https' ? forwarded : 'https';
  const url = `${protocol}://${head.authority ?? event.requestContext.domainName}${head.target}`;

  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (signal) init.signal = signal;
  if (method !== 'GET' && method !== 'HEAD' && event.body !== undefined) {
    const body = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
    // API Gateway buffered the whole body, even one the client sent chunked: its length is known.
    headers.set('content-length', String(body.byteLength));
    init.body = oneChunkStream(body);
    init.duplex = 'half';
  }
  try {
    return new Request(url, init);
  } catch {
    throw malformedRequest('the request could not be read: its URL is not valid');
  }
}

/**
 * The decoded body as a stream of itself. A Request built from the bytes directly copies them
 * (4–6 MiB per PATCH, then garbage); a stream hands the core this very buffer.
 */
function oneChunkStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
