import type { Clock } from '../ports';
import type { CacheSecrets, UpstreamCredentials, UpstreamHttp } from './ports';
import { secretKeyOf, type CacheRule } from './rules';
import { concat } from '../bytes';

/** What a manifest request accepts: every manifest and index type the registry stores. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A token is reused until this long before it expires. */
const TOKEN_MARGIN_MS = 10_000;
const MAX_TOKEN_BYTES = 64 * 1024;

/** The upstream could not be reached, or answered 429 or 5xx: a cached copy may be served instead. */
export class UpstreamUnavailableError extends Error {
  constructor(readonly upstream: string, readonly reason: string, readonly retryAfter?: string) {
    super(`upstream ${upstream} is unavailable: ${reason}`);
    this.name = 'UpstreamUnavailableError';
  }
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (one challenge; the first if several). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const pair of match[2]!.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[pair[1]!.toLowerCase()] = (pair[2] ?? pair[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

/**
 * Requests to an upstream registry, as docker makes them: anonymous first, then the challenge's
 * flow. Bearer: a token from the realm for `repository:<name>:pull` (with the rule's Basic
 * credentials when it has some), cached per upstream and scope until it expires. Basic: the
 * rule's credentials on the request itself. Credentials and tokens are never logged or returned.
 */
export class UpstreamClient {
  private readonly tokens = new Map<string, { value: string; until: number }>();

  constructor(private readonly deps: { http: UpstreamHttp; secrets: CacheSecrets | undefined; clock: Clock }) {}

  async request(rule: CacheRule, repository: string, path: string, method: 'GET' | 'HEAD', accept?: string): Promise<Response> {
    const url = `${rule.upstream.replace(/\/+$/, '')}/v2/${repository}/${path}`;
    const scope = `repository:${repository}:pull`;
    const tokenKey = `${rule.upstream} ${scope}`;
    const base: Record<string, string> = accept ? { accept } : {};
    const cached = this.tokens.get(tokenKey);
    const first = await this.send(rule, url, method, cached && cached.until > this.deps.clock.now() ? { ...base, authorization: `Bearer ${cached.value}` } : base);
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get('www-authenticate'));
    await first.body?.cancel();
    const credentials = rule.credentials ? await this.deps.secrets?.get(secretKeyOf(rule.prefix)) : undefined;
    if (challenge?.scheme === 'basic' && credentials) {
      return this.send(rule, url, method, { ...base, authorization: basic(credentials) });
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) return first;
    const token = await this.token(rule, challenge.params, scope, credentials);
    this.tokens.set(tokenKey, token);
    return this.send(rule, url, method, { ...base, authorization: `Bearer ${token.value}` });
  }

  private async send(rule: CacheRule, url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<Response> {
    let response: Response;
    try {
      response = await this.deps.http.fetch(url, { method, headers });
    } catch (error) {
      throw new UpstreamUnavailableError(rule.upstream, (error as Error).message);
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      throw new UpstreamUnavailableError(rule.upstream, `HTTP ${response.status}`, response.headers.get('retry-after') ?? undefined);
    }
    return response;
  }

  private async token(
    rule: CacheRule, params: Record<string, string>, scope: string, credentials: UpstreamCredentials | undefined,
  ): Promise<{ value: string; until: number }> {
    if (!URL.canParse(params.realm!)) throw new UpstreamUnavailableError(rule.upstream, 'its token realm is not a URL');
    const realm = new URL(params.realm!);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? scope);
    const response = await this.send(rule, realm.href, 'GET', credentials ? { authorization: basic(credentials) } : {});
    const text = await readLimited(response, MAX_TOKEN_BYTES);
    if (!response.ok) throw new UpstreamUnavailableError(rule.upstream, `its token endpoint answered HTTP ${response.status}`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new UpstreamUnavailableError(rule.upstream, 'its token endpoint did not answer JSON');
    }
    const value = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!value) throw new UpstreamUnavailableError(rule.upstream, 'its token endpoint answered no token');
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { value, until: this.deps.clock.now() + seconds * 1000 - TOKEN_MARGIN_MS };
  }
}

function basic(credentials: UpstreamCredentials): string {
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** Reads a body of at most `limit` bytes (more is cut off: such a body is not what we asked for). */
export async function readLimitedBytes(response: Response, limit: number): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limit) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return concat(chunks, size);
}

async function readLimited(response: Response, limit: number): Promise<string> {
  const bytes = await readLimitedBytes(response, limit);
  return bytes ? new TextDecoder().decode(bytes) : '';
}
