import { RegistryError } from '../errors';
import { REQUEST_TARGET_HEADER } from './headers';

/**
 * The rules every transport applies to a request's head before it builds a web Request,
 * and the router applies to the path it routes on. They exist because each layer between
 * the client and the router rewrites requests its own way: node's parser de-chunks any
 * Transfer-Encoding ending in "chunked", the WHATWG URL parser resolves "." and ".."
 * segments and "\", and `new Request` throws on some methods and hosts. Whatever a client
 * sends, it gets a spec error or is served exactly as sent.
 */

/** Every method some route serves. Anything else (TRACE, CONNECT, "get", ...) gets 405. */
export const REGISTRY_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface RequestHead {
  readonly method: string;
  /** The request-target exactly as sent (origin-form "/v2/...?q", absolute-form, or garbage). */
  readonly target: string;
  /** The value of every Host field line, in order. */
  readonly hosts: readonly string[];
  /** Transfer-Encoding field lines joined with ", "; undefined when absent. */
  readonly transferEncoding: string | undefined;
  /** HTTP/1.1 requires a Host header; HTTP/1.0 does not. */
  readonly hostRequired: boolean;
}

export interface AcceptedHead {
  /** The target in origin-form ("/path?query"), otherwise exactly as sent. */
  readonly target: string;
  /** The authority the request names (an absolute-form target's, else Host), if any. */
  readonly authority: string | undefined;
}

/** A request the registry cannot read as sent: 400 (or `status`) in the spec's JSON. */
export function malformedRequest(message: string, status = 400): RegistryError {
  return new RegistryError('UNSUPPORTED', message, { status });
}

export function unsupportedMethod(method: string): RegistryError {
  return new RegistryError('UNSUPPORTED', `method ${JSON.stringify(method.slice(0, 32))} is not supported by this registry`, {
    status: 405, headers: { Allow: REGISTRY_METHODS.join(', ') },
  });
}

const ABSOLUTE_FORM = /^(https?):\/\/([^/?#]*)(.*)$/i;

/** Checks method, framing, Host and target form (RFC 9112 §3, §6.1), before a Request is built. */
export function acceptRequestHead(head: RequestHead): AcceptedHead {
  if (!REGISTRY_METHODS.includes(head.method)) throw unsupportedMethod(head.method);
  checkTransferEncoding(head.transferEncoding);
  const host = acceptHost(head.hosts, head.hostRequired);
  if (head.target.includes('#')) throw malformedRequest('the request target carries a fragment ("#"), which HTTP requests never do');
  const absolute = ABSOLUTE_FORM.exec(head.target);
  if (absolute) {
    // RFC 9112 §3.2.2: the target's authority wins over the Host header.
    const authority = absolute[2]!;
    if (!isValidAuthority(authority)) throw malformedRequest(`the request target's authority ${JSON.stringify(authority.slice(0, 64))} is not a valid host`);
    const rest = absolute[3]!;
    return { target: rest.startsWith('/') ? rest : `/${rest}`, authority };
  }
  if (!head.target.startsWith('/')) {
    throw malformedRequest(`the request target ${JSON.stringify(head.target.slice(0, 64))} is not a path; send /v2/...`);
  }
  return { target: head.target, authority: host };
}

/**
 * Only "chunked" is understood. Any other coding (gzip, identity, ...) would reach the
 * registry still encoded, and its bytes would be stored as if they were the content.
 */
function checkTransferEncoding(value: string | undefined): void {
  if (value === undefined || value.trim().toLowerCase() === 'chunked') return;
  throw malformedRequest(`Transfer-Encoding ${JSON.stringify(value.slice(0, 64))} is not supported; send the body with Content-Length or Transfer-Encoding: chunked alone`);
}

/** RFC 9112 §3.2: exactly one Host on HTTP/1.1, and a valid one. An empty value names no host. */
function acceptHost(hosts: readonly string[], required: boolean): string | undefined {
  if (hosts.length > 1) throw malformedRequest('the request has more than one Host header');
  const host = hosts[0]?.trim();
  if (host === undefined && required) throw malformedRequest('HTTP/1.1 requests need a Host header');
  if (!host) return undefined;
  if (!isValidAuthority(host)) throw malformedRequest(`Host ${JSON.stringify(host.slice(0, 64))} is not a valid host[:port]`);
  return host;
}

const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::\d{1,5})?$/;

/** host[:port] as RFC 3986 writes it (no user info), and one the WHATWG URL parser takes. */
export function isValidAuthority(value: string): boolean {
  if (!AUTHORITY.test(value)) return false;
  try {
    return new URL(`http://${value}/`).host !== '';
  } catch {
    return false;
  }
}

/**
 * The path the client sent: from REQUEST_TARGET_HEADER, which every transport sets, else
 * (an in-process caller built the Request itself) the URL's path.
 */
export function requestPath(request: Request): string {
  const target = request.headers.get(REQUEST_TARGET_HEADER);
  if (target === null) return new URL(request.url).pathname;
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

// RFC 3986 path characters: unreserved, sub-delims, ":", "@", "/" and %XX escapes.
const PATH_CHARACTERS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Refuses a path that a URL parser would turn into another one: "." and ".." segments
 * (spelled any way), and characters a URI cannot hold ("\" becomes "/"). What passes is
 * routed exactly as sent; names are never decoded, so "%2F" and "%2e" in a name make it
 * invalid rather than another name.
 */
export function checkRequestPath(path: string): void {
  if (!path.startsWith('/') || !PATH_CHARACTERS.test(path)) {
    throw malformedRequest('the request path holds characters a URI path cannot (spaces, "\\", non-ASCII, a malformed %XX escape, ...)');
  }
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    throw new RegistryError('NAME_INVALID', 'the path has a "." or ".." segment; paths are taken as sent, never resolved into another repository', {
      detail: { path: path.slice(0, 300) },
    });
  }
}
