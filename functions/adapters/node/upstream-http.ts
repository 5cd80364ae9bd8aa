import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { UpstreamHttp, UpstreamRequest } from '../../core/cache/ports';
import { isMetadataAddress } from '../../core/cache/rules';

const MAX_REDIRECTS = 5;
/** A connection or a response that stalls this long fails (the cache then serves what it has). */
const IDLE_TIMEOUT_MS = 60_000;

export class UpstreamAddressError extends Error {}

/**
 * Resolves names as node does, refusing link-local and cloud metadata addresses. It runs at
 * connection time, on the address actually connected to, so a name that resolves elsewhere
 * later (DNS rebinding) cannot reach the metadata service either.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const allowed = addresses.filter((entry) => !isMetadataAddress(entry.address));
    if (allowed.length === 0) return callback(new UpstreamAddressError(`${hostname} resolves to a link-local or metadata address only`), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
    return callback(null, allowed[0]!.address, allowed[0]!.family);
  });
};

/**
 * Upstream registries over node:http(s): redirects followed by hand (at most 5), each target
 * checked, Authorization kept only on the origin it was meant for (as docker does for blob
 * redirects to a CDN), and bodies streamed.
 */
export function nodeUpstreamHttp(): UpstreamHttp {
  return {
    async fetch(url, request) {
      let target = new URL(url);
      const origin = target.origin;
      for (let hop = 0; ; hop++) {
        const headers = target.origin === origin ? request.headers : withoutAuthorization(request.headers);
        const response = await send(target, request.method, headers);
        const location = response.headers.location;
        if (response.statusCode && [301, 302, 303, 307, 308].includes(response.statusCode) && location && hop < MAX_REDIRECTS) {
          response.resume();
          target = new URL(location, target);
          continue;
        }
        return toResponse(response, request);
      }
    },
  };
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

function send(url: URL, method: string, headers: Record<string, string>): Promise<IncomingMessage> {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return Promise.reject(new UpstreamAddressError(`refusing to follow a redirect to ${url.protocol}`));
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && isMetadataAddress(literal)) return Promise.reject(new UpstreamAddressError(`refusing ${url.hostname}: a link-local or metadata address`));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers: { 'user-agent': 'nimbus-pull-through-cache', ...headers }, lookup: guardedLookup, timeout: IDLE_TIMEOUT_MS }, resolve);
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer from ${url.host} within ${IDLE_TIMEOUT_MS / 1000} s`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function toResponse(incoming: IncomingMessage, request: UpstreamRequest): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
  }
  const status = incoming.statusCode ?? 502;
  const empty = request.method === 'HEAD' || status === 204 || status === 304;
  if (empty) incoming.resume();
  const body = empty ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
  return new Response(body, { status: status >= 200 && status <= 599 ? status : 502, headers });
}
