import { CliError } from '../errors';
import { RegistryAuth, errorMessage } from './auth';
import { backoffDelay, DEFAULT_BACKOFF, sleep, type Backoff } from './concurrency';
import type { Credentials } from './credentials';
import type { ImageReference } from './reference';

export interface SendOptions {
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  /** @default 5 minutes */
  timeoutMs?: number;
}

/** An OCI error response, as the registry sent it. */
export class RegistryResponseError extends CliError {
  /** `registryMessage`: the registry's own words (code: message). */
  constructor(readonly status: number, readonly code: string | undefined, readonly registryMessage: string, message: string) {
    super(message);
  }
}

/**
 * The registry's HTTP API for one repository: authenticates (see RegistryAuth), retries
 * network errors, 5xx and 429 with backoff, and never follows redirects (a blob HEAD may
 * redirect to storage; the redirect itself answers the question).
 */
export class RegistryClient {
  readonly auth: RegistryAuth;

  constructor(readonly ref: ImageReference, credentials: Credentials | undefined, private readonly backoff: Backoff = DEFAULT_BACKOFF) {
    this.auth = new RegistryAuth({
      host: ref.host, repository: ref.repository, credentials, scope: `repository:${ref.repository}:pull,push`, fetch,
    });
  }

  /** `/v2/<name>` + `suffix`. */
  path(suffix: string): string {
    return `/v2/${this.ref.repository}${suffix}`;
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const url = new URL(path, this.ref.origin);
    let answeredChallenge = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers };
      if (this.auth.header) headers.authorization = this.auth.header;
      let response: Response;
      try {
        response = await fetch(url, {
          method, headers, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs ?? 300_000),
          ...(options.body === undefined ? {} : { body: options.body as BodyInit }),
        });
      } catch (error) {
        if (attempt >= this.backoff.attempts) throw new CliError(`cannot reach ${this.ref.origin} (${method} ${url.pathname}): ${describeNetworkError(error)}`);
        await sleep(backoffDelay(attempt - 1, this.backoff));
        continue;
      }
      if (response.status === 401) {
        const message = errorMessage(await response.text()) ?? 'HTTP 401';
        if (answeredChallenge) throw this.auth.refused(message);
        await this.auth.answer(response);
        answeredChallenge = true;
        attempt--; // a challenge is not a failure
        continue;
      }
      if ((response.status >= 500 || response.status === 429) && attempt < this.backoff.attempts) {
        await response.body?.cancel();
        await sleep(retryAfter(response) ?? backoffDelay(attempt - 1, this.backoff));
        continue;
      }
      return response;
    }
  }

  /** Turns a response the caller did not expect into an actionable error. */
  async fail(response: Response, doing: string): Promise<never> {
    const text = await response.text();
    let code: string | undefined;
    try {
      code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
    } catch {
      // not an OCI error body
    }
    const message = errorMessage(text) ?? `HTTP ${response.status} ${text.slice(0, 200)}`.trim();
    if (response.status === 403 || code === 'DENIED') {
      const who = this.auth.header ? 'your login' : 'anonymous callers';
      throw new RegistryResponseError(response.status, code, message, `${doing}: ${this.ref.host} denied it (${message}). `
        + `${who} may not push to ${this.ref.repository}: ask an admin for a grant, e.g. npx nimbus grant USER '${this.ref.repository}' pull,push`);
    }
    throw new RegistryResponseError(response.status, code, message, `${doing}: ${this.ref.host} answered HTTP ${response.status} (${message})`);
  }
}

function retryAfter(response: Response): number | undefined {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : undefined;
}

/** The cause of a failed fetch, with a hint for the usual TLS mix-ups. */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const text = cause?.code ? `${cause.code}${cause.message ? ` (${cause.message})` : ''}`
    : cause?.message ?? (error instanceof Error ? error.message : String(error));
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(text)) return `${text}; for a registry with a self-signed certificate pass --insecure`;
  if (/EPROTO|wrong version number|packet length/i.test(text)) return `${text}; if the registry speaks plain HTTP pass --plain-http`;
  return text;
}
