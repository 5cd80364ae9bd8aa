import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../core/ports';
import { compileRule, type Claims } from './claim-rules';
import type { FederationRecord, IdentityStore } from './identity-store';
import { mergeGrants, type Grant } from './grants';
import { OidcRejectedError, OidcUnavailableError } from './oidc-errors';

/**
 * CI federation: `docker login -u oidc -p "$ID_TOKEN"`. The token's issuer must be one the
 * admin trusts (`nimbus oidc trust`), its audience the one configured for that issuer, and
 * its signature must verify against the issuer's JWKS (found by OpenID discovery, cached).
 * The issuer's claim rules then decide the grants.
 */
export interface FederatedIdentity {
  /** `oidc:<sub>@<issuer host>`, for tokens and logs. */
  subject: string;
  issuer: string;
  /** The federation record's generation, so refresh tokens die when its rules change. */
  generation: string;
  grants: Grant[];
  /** The ID token's expiry, epoch seconds. */
  expiresAt: number;
}

export { OidcRejectedError, OidcUnavailableError } from './oidc-errors';

export interface OidcVerifierOptions {
  store: IdentityStore;
  clock: Clock;
  /** Budget for each discovery and JWKS request. @default 5000 */
  fetchTimeoutMs?: number;
  /** How long discovery documents and JWKS are cached. @default 600 */
  cacheSeconds?: number;
}

/** Longer than any real issuer URL, and than a DynamoDB sort key may be. */
const MAX_ISSUER_LENGTH = 1000;

// Algorithms CI issuers sign with (GitHub, GitLab: RS256). Never "none" or HMAC.
const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'];

export class OidcVerifier {
  private readonly jwksByIssuer = new Map<string, { uri: string; keys: JWTVerifyGetKey; until: number }>();
  private readonly timeoutMs: number;
  private readonly cacheMs: number;

  constructor(private readonly options: OidcVerifierOptions) {
    this.timeoutMs = options.fetchTimeoutMs ?? 5000;
    this.cacheMs = (options.cacheSeconds ?? 600) * 1000;
  }

  async verify(idToken: string): Promise<FederatedIdentity> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(idToken).iss;
    } catch {
      throw new OidcRejectedError('the password for user "oidc" must be an ID token (a JWT)');
    }
    if (typeof issuer !== 'string' || issuer === '') throw new OidcRejectedError('the ID token names no issuer');
    if (issuer.length > MAX_ISSUER_LENGTH) throw new OidcRejectedError('the ID token\'s issuer is not trusted by this registry');
    // Only configured issuers: an unknown one is refused before any network request.
    const federation = await this.options.store.getFederation(issuer);
    if (!federation) throw new OidcRejectedError(`issuer ${issuer} is not trusted by this registry`);
    const keys = await this.keysFor(federation);
    let claims: Claims;
    try {
      ({ payload: claims } = await jwtVerify(idToken, keys, {
        issuer: federation.issuer,
        audience: federation.audience,
        algorithms: ID_TOKEN_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.options.clock.now()),
        clockTolerance: 30,
      }));
    } catch (error) {
      if (isUnreachable(error)) throw new OidcUnavailableError(issuer, error);
      const code = error instanceof errors.JOSEError ? error.code : 'ERR_UNKNOWN';
      throw new OidcRejectedError(`ID token rejected (${code})`);
    }
    const grants = mergeGrants(federation.rules.filter((rule) => compileRule(rule.when)(claims)));
    return {
      subject: `oidc:${String(claims.sub)}@${new URL(federation.issuer).host}`,
      issuer: federation.issuer,
      generation: federation.generation,
      grants,
      expiresAt: Number(claims.exp),
    };
  }

  private async keysFor(federation: FederationRecord): Promise<JWTVerifyGetKey> {
    const now = this.options.clock.now();
    const cached = this.jwksByIssuer.get(federation.issuer);
    const wanted = federation.jwksUri;
    if (cached && cached.until > now && (wanted === undefined || wanted === cached.uri)) return cached.keys;
    const uri = wanted ?? (await this.discoverJwksUri(federation.issuer));
    const keys = createRemoteJWKSet(issuerUrl(federation.issuer, uri, 'JWKS'), {
      timeoutDuration: this.timeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: this.cacheMs,
    });
    this.jwksByIssuer.set(federation.issuer, { uri, keys, until: now + this.cacheMs });
    return keys;
  }

  private async discoverJwksUri(issuer: string): Promise<string> {
    const url = issuerUrl(issuer, `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'discovery');
    let document: { jwks_uri?: unknown };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
      if (!response.ok) throw new Error(`OpenID discovery at ${url.href} answered HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      throw new OidcUnavailableError(issuer, error);
    }
    if (typeof document.jwks_uri !== 'string') throw new OidcUnavailableError(issuer, new Error(`the discovery document at ${url.href} has no jwks_uri`));
    return document.jwks_uri;
  }
}

/**
 * Whether verification failed because the issuer's keys could not be had (timeout, network,
 * HTTP error, garbage JWKS): retryable, unlike a token that fails its checks.
 */
function isUnreachable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (error instanceof errors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return true;
}

/** https only, except on loopback, where tests and local issuers run. */
export function checkedUrl(value: string, what: string): URL {
  const url = new URL(value);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new OidcRejectedError(`the ${what} URL ${value} must use https`);
  }
  return url;
}

/**
 * checkedUrl for a URL from the trust record or the issuer's discovery document, not from
 * the client: a bad one is the issuer's (or the admin's) fault, so it is a retryable
 * failure whose address stays in the log.
 */
function issuerUrl(issuer: string, value: string, what: string): URL {
  try {
    return checkedUrl(value, what);
  } catch (error) {
    throw new OidcUnavailableError(issuer, error);
  }
}
