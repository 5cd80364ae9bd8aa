import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * The HTTP client of the OCI conformance suite v1.1.1 (reggie on resty on Go net/http),
 * reproduced on the wire, because registries fail the suite on exactly these details:
 *
 * - Every request goes out without credentials first. On a 401 whose WWW-Authenticate is
 *   Bearer, it fetches `GET <realm>?scope=<the challenge's scope>&service=<service>` with
 *   Basic credentials, takes `token` (or `access_token`) and sends the request again with
 *   `Authorization: Bearer`; on a Basic challenge it resends with Basic credentials. Nothing
 *   is cached: every request of the suite runs this dance (reggie keeps no token).
 * - A Location is followed as a *relative* location: its path and query, on the root URL
 *   (reggie's GetRelativeLocation), whatever host the registry named.
 * - Query parameters are appended with `&` to a query the URL already has, sorted and
 *   encoded like Go's url.Values (`:` as %3A, `/` as %2F).
 * - Only the bytes of a body go out: the suite sets Content-Length headers by hand, which Go
 *   drops; Go sends `Content-Length: 0` on a bodiless POST, PUT or PATCH, and never a body
 *   on GET (resty drops it). No Accept-Encoding (compression is off), no default Accept.
 * - Redirects are followed (up to 20), and Go keeps `Authorization` on a redirect to the
 *   same host name, whatever the port: a presigned blob URL on 127.0.0.1 receives the token.
 */

export const USER_AGENT = 'distribution-spec-conformance-tests';
const MAX_REDIRECTS = 20;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

export interface SuiteResponse {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  header(name: string): string;
  text(): string;
  /** reggie's GetRelativeLocation: the Location's path and raw query. */
  relativeLocation(): string;
}

export interface RequestOptions {
  /** reggie.WithName: the repository, instead of the default one. */
  name?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

/** One exchange, for the transcript a failed spec prints (what OCI_DEBUG=1 would show). */
export interface Exchange {
  request: string;
  response: string;
}

export interface ClientConfig {
  rootUrl: string;
  defaultName: string;
  username?: string;
  password?: string;
}

export class ConformanceClient {
  private readonly agent = new Agent({ keepAlive: true });
  private transcript: Exchange[] = [];

  constructor(readonly config: ClientConfig) {}

  /** Starts a fresh transcript (one per spec) and returns it. */
  record(): Exchange[] {
    this.transcript = [];
    return this.transcript;
  }

  close(): void {
    this.agent.destroy();
  }

  /** reggie's NewRequest + Do: `<name>` in `path` is the default or given repository. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<SuiteResponse> {
    const url = appendQuery(`${this.config.rootUrl.replace(/\/$/, '')}/${path.replace('<name>', options.name ?? this.config.defaultName).replace(/^\//, '')}`, options.query);
    const headers = { 'User-Agent': USER_AGENT, ...options.headers };
    const first = await this.follow(method, url, headers, options.body);
    if (first.status !== 401) return first;
    return this.retryWithAuth(first, method, url, headers, options.body);
  }

  private async retryWithAuth(denied: SuiteResponse, method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<SuiteResponse> {
    const challenge = denied.header('www-authenticate');
    if (challenge === '') return denied;
    const basic = `Basic ${Buffer.from(`${this.config.username ?? ''}:${this.config.password ?? ''}`).toString('base64')}`;
    const scheme = /bearer|basic/i.exec(challenge)?.[0]?.toLowerCase();
    if (scheme === 'basic') return this.follow(method, url, { ...headers, Authorization: basic }, body);
    if (scheme !== 'bearer') throw new Error(`something went wrong with authorization: challenge "${challenge}"`);
    const params = challengeParams(challenge);
    const tokenUrl = appendQuery(params.realm ?? '', { service: params.service ?? '', ...(params.scope ? { scope: params.scope } : {}) });
    const tokenResponse = await this.follow('GET', tokenUrl, { 'User-Agent': USER_AGENT, Accept: 'application/json', Authorization: basic });
    let token: string | undefined;
    try {
      const parsed = JSON.parse(tokenResponse.text()) as { token?: string; access_token?: string };
      token = parsed.token || parsed.access_token;
    } catch {
      throw new Error(`the token endpoint answered ${tokenResponse.status} with no JSON: ${tokenResponse.text().slice(0, 300)}`);
    }
    return this.follow(method, url, { ...headers, Authorization: `Bearer ${token ?? ''}` }, body);
  }

  private async follow(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<SuiteResponse> {
    let current = { method, url, headers, body };
    for (let hop = 0; ; hop++) {
      const response = await this.send(current.method, current.url, current.headers, current.body);
      const location = response.header('location');
      if (![301, 302, 303, 307, 308].includes(response.status) || location === '') return response;
      if (hop >= MAX_REDIRECTS) throw new Error(`stopped after ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, current.url);
      const keepMethod = response.status === 307 || response.status === 308 || current.method === 'GET' || current.method === 'HEAD';
      const nextHeaders = { ...current.headers };
      if (!sameHostOrSubdomain(next, new URL(url))) delete nextHeaders.Authorization;
      current = keepMethod
        ? { method: current.method, url: next.href, headers: nextHeaders, body: current.body }
        : { method: 'GET', url: next.href, headers: nextHeaders, body: undefined };
    }
  }

  private send(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<SuiteResponse> {
    const sent = method === 'GET' || method === 'HEAD' ? undefined : body;
    const length = sent?.byteLength ?? (METHODS_WITH_BODY.has(method) ? 0 : undefined);
    const allHeaders = { ...headers, ...(length === undefined ? {} : { 'Content-Length': String(length) }) };
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(url, { method, headers: allHeaders, agent: this.agent }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => {
          const response = suiteResponse(method, url, incoming.statusCode ?? 0, incoming.headers, Buffer.concat(chunks));
          this.transcript.push(describeExchange(method, url, allHeaders, sent, response));
          resolve(response);
        });
      });
      outgoing.on('error', (error) => {
        this.transcript.push({ request: `${method} ${url}`, response: `(no response: ${error.message})` });
        reject(error);
      });
      outgoing.end(sent === undefined ? undefined : Buffer.from(sent));
    });
  }
}

function suiteResponse(method: string, url: string, status: number, headers: IncomingHttpHeaders, body: Buffer): SuiteResponse {
  const header = (name: string) => {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : (value ?? '');
  };
  return {
    method, url, status, headers, body, header,
    text: () => body.toString('utf8'),
    relativeLocation() {
      const location = header('location');
      if (location === '') return '';
      try {
        const parsed = new URL(location, 'http://relative.invalid');
        return decodeURIComponentSafe(parsed.pathname) + parsed.search;
      } catch {
        return '';
      }
    },
  };
}

/** Go's URL.Path is the decoded path (reggie puts it back on the root URL as is). */
function decodeURIComponentSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** resty: "&" + url.Values.Encode() after an existing query, "?" + it otherwise. */
export function appendQuery(url: string, query?: Record<string, string>): string {
  if (!query || Object.keys(query).length === 0) return url;
  const encoded = Object.keys(query).sort().map((key) => `${goQueryEscape(key)}=${goQueryEscape(query[key]!)}`).join('&');
  return url + (new URL(url).search.length > 1 ? '&' : '?') + encoded;
}

/** Go's url.QueryEscape: unreserved characters as they are, space as +, the rest %XX. */
function goQueryEscape(value: string): string {
  return Array.from(new TextEncoder().encode(value), (byte) => {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(char)) return char;
    if (char === ' ') return '+';
    return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

/** reggie's parseAuthHeader: every key="value" pair of the challenge, keys lower-cased. */
function challengeParams(challenge: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of challenge.matchAll(/([a-zA-z]+)="(.+?)"/g)) params[match[1]!.toLowerCase()] = match[2]!;
  return params;
}

/** Go's shouldCopyHeaderOnRedirect for Authorization: host names compared without ports. */
function sameHostOrSubdomain(next: URL, initial: URL): boolean {
  return next.hostname === initial.hostname || next.hostname.endsWith(`.${initial.hostname}`);
}

function describeExchange(method: string, url: string, headers: Record<string, string>, body: Uint8Array | undefined, response: SuiteResponse): Exchange {
  const shownHeaders = Object.entries(headers).map(([k, v]) => `${k}: ${k === 'Authorization' ? `${v.split(' ')[0]} …` : v}`).join('; ');
  const responseHeaders = ['location', 'range', 'docker-content-digest', 'oci-subject', 'oci-filters-applied', 'content-type', 'www-authenticate']
    .filter((name) => response.header(name) !== '').map((name) => `${name}: ${response.header(name)}`).join('; ');
  const bodyNote = body === undefined ? '' : ` [${body.byteLength} bytes]`;
  const responseBody = response.body.byteLength > 0 ? ` ${response.text().slice(0, 400)}` : '';
  return { request: `${method} ${url}${bodyNote} {${shownHeaders}}`, response: `${response.status} {${responseHeaders}}${responseBody}` };
}
