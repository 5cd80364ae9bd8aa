import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload, type JWTHeaderParameters } from 'jose';
import { StoreUnavailableError } from '../core/errors';
import type { Clock } from '../core/ports';
import type { Grant } from './grants';
import { TOKEN_ALGORITHM, type KeySet } from './keyset';
import type { ResourceAccess } from './scopes';

/**
 * Short-lived access tokens (what a client sends as Bearer) and long-lived refresh
 * tokens (docker's "identity token"), both JWTs signed with the key set. The header's
 * `typ` keeps the two apart, so neither can stand in for the other.
 */
const ACCESS_TYP = 'at+jwt';
const REFRESH_TYP = 'nimbus-refresh+jwt';

export interface AccessClaims {
  /** undefined for anonymous tokens. */
  subject: string | undefined;
  access: ResourceAccess[];
  expiresAt: number;
}

/** What a refresh token stands for; checked against the identity store on every use. */
export type RefreshSubject =
  | { kind: 'principal'; name: string; generation: string }
  /** A CI login: the grants its claim rules gave, valid while the issuer's rules are unchanged. */
  | { kind: 'oidc'; subject: string; issuer: string; generation: string; grants: Grant[] };

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export class TokenError extends Error {
  constructor(readonly reason: 'expired' | 'invalid') {
    super(reason === 'expired' ? 'the token has expired' : 'the token is not valid');
    this.name = 'TokenError';
  }
}

export interface TokenServiceOptions {
  keys: KeySet;
  /**
   * Reads the key set again, when a token names a kid this one does not know: after a
   * rotation, instances started earlier learn the new key. At most once a minute.
   */
  reloadKeys?: () => Promise<KeySet>;
  /** `iss` of issued tokens, checked on verification. */
  issuer: string;
  /** `aud` of issued tokens: the service named in the challenge. */
  service: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  clock: Clock;
}

const RELOAD_INTERVAL_MS = 60_000;

export class TokenService {
  private keys: KeySet;
  private lastReload = -Infinity;
  private reloadFailed = false;

  constructor(private readonly options: TokenServiceOptions) {
    this.keys = options.keys;
  }

  get service(): string {
    return this.options.service;
  }

  async issueAccess(subject: string | undefined, access: ResourceAccess[]): Promise<IssuedToken> {
    const now = this.nowSeconds();
    const ttl = this.options.accessTtlSeconds;
    const token = await this.sign({ access }, ACCESS_TYP, subject, now, now + ttl);
    return { token, expiresIn: ttl, issuedAt: new Date(now * 1000).toISOString() };
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    const payload = await this.verify(token, ACCESS_TYP);
    if (!Array.isArray(payload.access)) throw new TokenError('invalid');
    return { subject: payload.sub, access: payload.access as ResourceAccess[], expiresAt: payload.exp! };
  }

  /** `notAfter` (epoch seconds) caps the lifetime, e.g. for CI logins. */
  async issueRefresh(subject: RefreshSubject, notAfter?: number): Promise<string> {
    const now = this.nowSeconds();
    const expires = Math.min(now + this.options.refreshTtlSeconds, notAfter ?? Infinity);
    const name = subject.kind === 'principal' ? subject.name : subject.subject;
    const { kind: _kind, ...rest } = subject;
    return this.sign({ rt: { kind: subject.kind, ...rest } }, REFRESH_TYP, name, now, expires);
  }

  async verifyRefresh(token: string): Promise<RefreshSubject> {
    const payload = await this.verify(token, REFRESH_TYP);
    const rt = payload.rt as Partial<RefreshSubject> | undefined;
    if (!rt || typeof rt.generation !== 'string') throw new TokenError('invalid');
    if (rt.kind === 'principal' && typeof rt.name === 'string') return { kind: 'principal', name: rt.name, generation: rt.generation };
    if (rt.kind === 'oidc' && typeof rt.subject === 'string' && typeof rt.issuer === 'string' && Array.isArray(rt.grants)) {
      return { kind: 'oidc', subject: rt.subject, issuer: rt.issuer, generation: rt.generation, grants: rt.grants };
    }
    throw new TokenError('invalid');
  }

  private async sign(claims: JWTPayload, typ: string, subject: string | undefined, issuedAt: number, expires: number): Promise<string> {
    const { issuer, service } = this.options;
    const keys = this.keys;
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: keys.signing.kid, typ })
      .setIssuer(issuer)
      .setAudience(service)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expires)
      .setJti(randomUUID());
    if (subject !== undefined) jwt.setSubject(subject);
    return jwt.sign(keys.signing.privateKey);
  }

  private async verify(token: string, typ: string): Promise<JWTPayload> {
    const { issuer, service } = this.options;
    try {
      const { payload } = await jwtVerify(token, async (header: JWTHeaderParameters) => {
        const key = this.keys.verificationKey(header.kid) ?? (await this.reloadedKey(header.kid));
        if (!key) throw new TokenError('invalid');
        return key.publicKey;
      }, {
        // Only our algorithm: refuses "none", and HS256 "signed" with a public key.
        algorithms: [TOKEN_ALGORITHM],
        typ,
        issuer,
        audience: service,
        requiredClaims: ['exp', 'iat'],
        currentDate: new Date(this.options.clock.now()),
        clockTolerance: 30,
      });
      return payload;
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      if (error instanceof errors.JWTExpired) throw new TokenError('expired');
      throw new TokenError('invalid');
    }
  }

  /**
   * A key store that cannot be read is not a bad token: the caller gets a retryable 503
   * (docker keeps its login) until a reload succeeds, tried at most once a minute.
   */
  private async reloadedKey(kid: string | undefined) {
    const now = this.options.clock.now();
    if (!this.options.reloadKeys || kid === undefined) return undefined;
    if (now - this.lastReload < RELOAD_INTERVAL_MS) {
      if (this.reloadFailed) throw new StoreUnavailableError('the token signing keys could not be reloaded');
      return undefined;
    }
    this.lastReload = now;
    try {
      this.keys = await this.options.reloadKeys();
      this.reloadFailed = false;
    } catch (error) {
      this.reloadFailed = true;
      throw new StoreUnavailableError(`reloading the token signing keys failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.keys.verificationKey(kid);
  }

  private nowSeconds(): number {
    return Math.floor(this.options.clock.now() / 1000);
  }
}
