import { performance } from 'node:perf_hooks';
import { RegistryAuth } from '../push/auth';
import type { Credentials } from '../push/credentials';
import { classify, exchange, type Exchange, type RequestBody } from './http';
import { frontOf, type AnomalyKind, type Observation, type Role } from './observation';

/** A check's unexpected outcome: the runner turns it into a diagnosis. */
export class CheckFailed extends Error {
  constructor(readonly observation: Observation) {
    super(observation.doing);
  }
}

export interface SessionOptions {
  /** Scheme and authority of the registry. */
  origin: URL;
  credentials: Credentials | undefined;
  /** The scratch repositories: the token asks for pull, push and delete on each. */
  repositories: string[];
  idleTimeoutMs: number;
  insecure: boolean;
  signal: AbortSignal;
}

export interface SendOptions {
  headers?: Record<string, string>;
  /** Made anew for each attempt (a request answered 401 is sent again with a token). */
  body?: () => RequestBody;
  sink?: (chunk: Buffer, status: number) => void;
  onBytesSent?: (delta: number) => void;
}

/**
 * Talks to the registry as docker does: answers its challenges through the push CLI's
 * token flow (RegistryAuth), sends the token to the registry's own host, and follows
 * upload Locations and blob redirects on other hosts without it.
 */
export class DoctorSession {
  readonly auth: RegistryAuth;
  /** The last request to the token endpoint, for the diagnosis of a failed login. */
  lastToken: Exchange | undefined;
  /** What fronts the registry's host, from its first answer. */
  registryFront: Observation['registryFront'];

  constructor(readonly options: SessionOptions) {
    this.auth = new RegistryAuth({
      host: options.origin.host,
      repository: options.repositories[0]!,
      credentials: options.credentials,
      scope: options.repositories.map((name) => `repository:${name}:pull,push,delete`).join(' '),
      fetch: (input, init) => this.recordToken(input, init),
    });
  }

  get login(): string | undefined {
    return this.options.credentials?.username;
  }

  /** Whether `url` is on the registry's host (the token goes there and nowhere else). */
  onRegistryHost(url: URL): boolean {
    return url.origin === this.options.origin.origin;
  }

  /** Who answers at `url`, for the diagnosis: the registry's host, or the upload endpoint's. */
  roleOf(url: URL): Role {
    return this.onRegistryHost(url) ? 'registry' : 'upload';
  }

  resolve(location: string): URL {
    return new URL(location, this.options.origin);
  }

  /**
   * One request. On the registry's host it carries the token and answers a 401 once (a
   * first request, or an expired token); elsewhere it carries no Authorization, as docker.
   */
  async send(method: string, target: string | URL, options: SendOptions = {}): Promise<Exchange> {
    const url = typeof target === 'string' ? this.resolve(target) : target;
    const authorized = this.onRegistryHost(url);
    let result = await this.once(method, url, authorized, options);
    if (authorized && result.status === 401 && result.headers['www-authenticate']) {
      await this.answerChallenge(result, method);
      result = await this.once(method, url, authorized, options);
    }
    if (authorized && result.status !== undefined) this.registryFront ??= frontOf(result);
    return result;
  }

  observe(role: Role, doing: string, result: Exchange, anomaly?: { kind: AnomalyKind; detail: string }): Observation {
    return {
      role, doing, exchange: result, idleTimeoutMs: this.options.idleTimeoutMs, login: this.login,
      repository: this.options.repositories[0]!, registryHost: this.options.origin.host, registryFront: this.registryFront, ...(anomaly ? { anomaly } : {}),
    };
  }

  /** Fails the check unless the answer has one of the `expected` statuses. */
  expect(result: Exchange, expected: number[], doing: string, role: Role = this.roleOf(result.url)): Exchange {
    if (result.failure || !expected.includes(result.status ?? -1)) throw new CheckFailed(this.observe(role, doing, result));
    return result;
  }

  private once(method: string, url: URL, authorized: boolean, options: SendOptions): Promise<Exchange> {
    const headers = { ...options.headers };
    if (authorized && this.auth.header) headers.authorization = this.auth.header;
    return exchange({
      method, url, headers, idleTimeoutMs: this.options.idleTimeoutMs, insecure: this.options.insecure, signal: this.options.signal,
      ...(options.body ? { body: options.body() } : {}),
      ...(options.sink ? { sink: options.sink } : {}),
      ...(options.onBytesSent ? { onBytesSent: options.onBytesSent } : {}),
    });
  }

  /** Gets a token (or Basic credentials) for a 401; a refused login fails the check with what /token said. */
  private async answerChallenge(result: Exchange, method: string): Promise<void> {
    this.lastToken = undefined;
    try {
      await this.auth.answer(new Response(null, { status: 401, headers: { 'www-authenticate': result.headers['www-authenticate']! } }));
    } catch {
      const token = this.lastToken as Exchange | undefined;
      if (token) throw new CheckFailed(this.observe('token', `getting a token from ${token.url.origin}${token.url.pathname}`, token));
      throw new CheckFailed(this.observe('registry', `${method} ${result.url.pathname}`, result));
    }
  }

  /** The token flow's fetch, recorded as an Exchange. */
  private async recordToken(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    const started = performance.now();
    const record: Exchange = { method, url, headers: {}, text: '', bytesSent: 0, bodyBytes: 0, bytesReceived: 0, elapsedMs: 0 };
    this.lastToken = record;
    try {
      const response = await fetch(input, { ...init, signal: AbortSignal.any([this.options.signal, AbortSignal.timeout(this.options.idleTimeoutMs)]) });
      record.text = await response.clone().text();
      record.status = response.status;
      record.headers = Object.fromEntries(response.headers);
      record.elapsedMs = performance.now() - started;
      record.answeredAtMs = record.elapsedMs;
      return response;
    } catch (error) {
      record.elapsedMs = performance.now() - started;
      const cause = ((error as { cause?: NodeJS.ErrnoException }).cause ?? error) as NodeJS.ErrnoException;
      const code = cause.name === 'TimeoutError' ? 'DOCTOR_TIMEOUT' : cause.name === 'AbortError' ? 'DOCTOR_ABORTED' : cause.code;
      record.failure = classify({ name: cause.name, message: cause.message, ...(code ? { code } : {}) }, 'wait');
      throw error;
    }
  }
}
