import type { Action } from '../core/access';
import { RegistryError } from '../core/errors';
import type { Clock, Logger } from '../core/ports';
import { isRepositoryName } from '../core/names';
import { AuthenticationError, Authenticator, type Identity } from './authenticator';
import { loggableName, readCredentials } from './credentials';
import { allowedActions, allowsRegistryScope, type Grant } from './grants';
import type { IdentityStore } from './identity-store';
import type { KeySet } from './keyset';
import { LoginThrottle, MemoryAttemptCounter, type AttemptCounter, type LoginLimits } from './login-throttle';
import { OidcUnavailableError } from './oidc-errors';
import { lazyService } from '../core/lazy-service';
import { bearerChallenge, type ResourceAccess } from './scopes';
import { TokenService } from './token-service';

export interface TokenAuthOptions {
  store: IdentityStore;
  keys: KeySet;
  /** Reads the keys again when a token names an unknown kid (rotation seen by older instances). */
  reloadKeys?: () => Promise<KeySet>;
  /** The `service` of challenges and the `aud` of tokens. @default "nimbus" */
  service?: string;
  /**
   * The registry's origin as clients reach it (https://registry.example.com), from
   * configuration: the token realm is built from it, never from the request's Host or
   * X-Forwarded-* headers, which the client chooses. A function when it is known only once
   * the server listens (port 0).
   */
  publicUrl: string | (() => string);
  /** @default 300 */
  accessTtlSeconds?: number;
  /** Lifetime of docker's stored login (refresh token). @default 90 days */
  refreshTtlSeconds?: number;
  /** Cap on refresh tokens from CI ID tokens. @default 3600 */
  oidcRefreshTtlSeconds?: number;
  clock?: Clock;
  logger?: Logger;
  attempts?: AttemptCounter;
  limits?: LoginLimits;
  /** The caller's address as the transport saw it (never a client-supplied header). */
  clientAddress?: (request: Request) => string | undefined;
  oidc?: { fetchTimeoutMs?: number; cacheSeconds?: number };
}

export const TOKEN_PATH = '/token';

/** State shared by the authorizer and the token endpoint. */
export class TokenAuth {
  readonly tokens: TokenService;
  readonly authenticator: Authenticator;
  readonly service: string;
  readonly clock: Clock;
  readonly logger: Logger;

  constructor(private readonly options: TokenAuthOptions) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.logger = options.logger ?? { log() {} };
    this.service = options.service ?? 'nimbus';
    this.tokens = new TokenService({
      keys: options.keys,
      ...(options.reloadKeys ? { reloadKeys: options.reloadKeys } : {}),
      issuer: 'nimbus',
      service: this.service,
      accessTtlSeconds: options.accessTtlSeconds ?? 300,
      refreshTtlSeconds: options.refreshTtlSeconds ?? 90 * 86_400,
      clock: this.clock,
    });
    const throttle = new LoginThrottle(options.attempts ?? new MemoryAttemptCounter(), this.clock, options.limits);
    // Loaded on the first CI login: most requests never verify an ID token.
    const oidcOptions = { store: options.store, clock: this.clock, ...options.oidc };
    const oidc = lazyService(async () => new (await import('./oidc')).OidcVerifier(oidcOptions), ['verify']);
    this.authenticator = new Authenticator(options.store, oidc, throttle, this.clock);
  }

  get oidcRefreshTtlSeconds(): number {
    return this.options.oidcRefreshTtlSeconds ?? 3600;
  }

  /** The token endpoint's URL. */
  realm(): string {
    const { publicUrl } = this.options;
    return (typeof publicUrl === 'string' ? publicUrl : publicUrl()) + TOKEN_PATH;
  }

  clientAddress(request: Request): string | undefined {
    return this.options.clientAddress?.(request);
  }

  /** 401 with a challenge that sends the client to the token endpoint for `scope`. */
  unauthorized(message: string, scope?: ResourceAccess, error?: 'invalid_token' | 'insufficient_scope'): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, {
      headers: { 'WWW-Authenticate': bearerChallenge(this.realm(), this.service, scope, error) },
      ...(scope ? { detail: [{ Type: scope.type, Name: scope.name, Action: scope.actions.join(',') }] } : {}),
    });
  }

  /** Basic credentials → identity, with failures as spec errors (401, 429, 503). */
  async login(request: Request, username: string, password: string, scope?: ResourceAccess): Promise<Identity> {
    const address = this.clientAddress(request);
    try {
      return await this.authenticator.login(username, password, address);
    } catch (error) {
      if (error instanceof AuthenticationError) {
        this.logger.log('warn', 'login failed', { principal: loggableName(username), address, reason: error.message });
        throw this.unauthorized(error.message, scope);
      }
      if (error instanceof OidcUnavailableError) {
        // What failed, and where, is for the operator: the client learns only that it may retry.
        this.logger.log('warn', 'CI issuer unavailable', { issuer: error.issuer, reason: error.cause instanceof Error ? error.cause.message : error.message });
        throw new RegistryError('UNAVAILABLE', error.message, { headers: { 'Retry-After': '5' } });
      }
      // A 429 of the login limits is the client's; anything else (a throttled or unreachable
      // store) goes on as a retryable error, its details to the log only.
      if (!(error instanceof RegistryError)) {
        this.logger.log('warn', 'login could not be checked', { principal: loggableName(username), error: describeError(error) });
      }
      throw error;
    }
  }

  /** Identity from the request's credentials for the token endpoint; undefined when anonymous. */
  async identify(request: Request): Promise<Identity | undefined> {
    const credentials = readCredentials(request);
    if (credentials.scheme === 'none') return undefined;
    if (credentials.scheme !== 'basic') throw this.unauthorized('the token endpoint takes Basic credentials or none');
    return this.login(request, credentials.username, credentials.password);
  }

  /** The requested access the caller's grants allow; refused actions are left out, not errors. */
  async grantedAccess(identity: Identity | undefined, requested: ResourceAccess[]): Promise<ResourceAccess[]> {
    if (requested.length === 0) return [];
    const grants = await this.authenticator.grantsOf(identity);
    const granted: ResourceAccess[] = [];
    for (const scope of requested) {
      const actions = allowed(grants, scope).filter((action) => scope.actions.includes(action) || scope.actions.includes('*'));
      if (actions.length > 0) granted.push({ ...scope, actions });
    }
    return granted;
  }
}

/** An error for a log line: its name and message (never for a client). */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function allowed(grants: Grant[], scope: ResourceAccess): string[] {
  if (scope.type === 'registry') return allowsRegistryScope(grants, scope.name) ? ['*'] : [];
  if (!isRepositoryName(scope.name)) return [];
  return [...allowedActions(grants, scope.name)];
}

/** Whether `grants` allow `action` on `repository`. */
export function grantsAllow(grants: Grant[], repository: string, action: Action): boolean {
  return allowedActions(grants, repository).has(action);
}
