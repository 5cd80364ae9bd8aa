import { CliError } from '../errors';
import type { Credentials } from './credentials';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (the first challenge of the header). */
export function parseChallenge(header: string | null): Challenge | undefined {
  const match = header ? /^\s*([A-Za-z]+)\s*(.*)$/.exec(header) : null;
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of match[2]!.matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    params[key!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare ?? '';
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

export interface AuthContext {
  /** `host[:port]`, for messages. */
  host: string;
  repository: string;
  credentials: Credentials | undefined;
  /** The token scopes the push needs, space-separated (each is sent as its own scope parameter). */
  scope: string;
  fetch: typeof fetch;
}

/**
 * Answers the registry's challenges the way docker does: a Bearer challenge sends us to
 * its realm for a token of our scope (with Basic credentials, or docker's stored refresh
 * token), a Basic challenge takes the credentials directly. The header is reused for
 * every request of the push and renewed on the next 401 (tokens expire).
 */
export class RegistryAuth {
  private authorization: string | undefined;

  constructor(private readonly ctx: AuthContext) {}

  get header(): string | undefined {
    return this.authorization;
  }

  /** Replaces the header after a 401; throws an actionable CliError when it cannot. */
  async answer(response: Response): Promise<void> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    const { credentials } = this.ctx;
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      this.authorization = `Bearer ${await this.token(challenge)}`;
      return;
    }
    if (challenge?.scheme === 'basic' || !challenge) {
      if (!credentials) throw this.missingCredentials();
      if (!credentials.password) throw new CliError(`${this.ctx.host} asks for a password, but the login from ${credentials.source} holds a token only: pass --username and --password-stdin`);
      this.authorization = basic(credentials.username, credentials.password);
      return;
    }
    throw new CliError(`${this.ctx.host} asks for ${challenge.scheme} authentication, which nimbus push does not speak`);
  }

  /** The error for a 401 that survived a fresh token or Basic credentials. */
  refused(message: string): CliError {
    const { credentials, host, repository } = this.ctx;
    if (!credentials) return this.missingCredentials();
    return new CliError(`${host} refused the credentials of ${credentials.username} (from ${credentials.source}) for pushing to ${repository}: ${message}. `
      + `Check the password, or log in again with docker login ${host}`);
  }

  private missingCredentials(): CliError {
    const { host, repository } = this.ctx;
    return new CliError(`${host} requires a login to push to ${repository}: pass --username NAME --password-stdin, `
      + `set NIMBUS_USERNAME and NIMBUS_PASSWORD, or run docker login ${host} first`);
  }

  private async token(challenge: Challenge): Promise<string> {
    const { credentials, scope } = this.ctx;
    const realm = new URL(challenge.params.realm!);
    const service = challenge.params.service;
    const scopes = [...new Set([...scope.split(' '), ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])];
    let response: Response;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'nimbus-cli' });
      if (service) form.set('service', service);
      for (const each of scopes) form.append('scope', each);
      response = await this.ctx.fetch(realm, {
        method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(60_000),
      });
    } else {
      if (service) realm.searchParams.set('service', service);
      for (const each of scopes) realm.searchParams.append('scope', each);
      const headers: Record<string, string> = {};
      if (credentials?.password) headers.authorization = basic(credentials.username, credentials.password);
      response = await this.ctx.fetch(realm, { headers, signal: AbortSignal.timeout(60_000) });
    }
    const text = await response.text();
    if (response.status === 401 || response.status === 403) throw this.refused(errorMessage(text) ?? `HTTP ${response.status}`);
    if (response.status === 429) throw new CliError(`${this.ctx.host} is throttling logins (${errorMessage(text) ?? 'HTTP 429'}): wait a minute and push again`);
    if (!response.ok) throw new CliError(`the token endpoint ${realm.origin}${realm.pathname} answered HTTP ${response.status}: ${errorMessage(text) ?? text.slice(0, 200)}`);
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new CliError(`the token endpoint ${realm.origin}${realm.pathname} did not answer JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new CliError(`the token endpoint ${realm.origin}${realm.pathname} answered without a token`);
    return token;
  }
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The first message of an OCI error body, if it is one. */
export function errorMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }>; details?: string };
    const first = body.errors?.[0];
    if (first) return [first.code, first.message].filter(Boolean).join(': ');
    return body.details;
  } catch {
    return undefined;
  }
}
