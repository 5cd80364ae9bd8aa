import { createHash } from 'node:crypto';
import type { Clock } from '../core/ports';
import type { Grant } from './grants';
import { ANONYMOUS, isPrincipalName, OIDC_USERNAME, type IdentityStore } from './identity-store';
import type { LoginThrottle } from './login-throttle';
import type { OidcVerifier } from './oidc';
import { OidcRejectedError } from './oidc-errors';
import { verifyAgainstNothing, verifySecret } from './secret-hash';
import type { RefreshSubject } from './token-service';

/** Someone who proved who they are, and where their grants come from. */
export type Identity =
  | { kind: 'principal'; subject: string; generation: string }
  | { kind: 'oidc'; subject: string; issuer: string; generation: string; grants: Grant[]; expiresAt: number };

export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

/** Verifications are cached briefly, so Basic auth on every request does not run scrypt every time. */
const VERIFIED_CACHE_MS = 60_000;
const VERIFIED_CACHE_MAX = 10_000;

export class Authenticator {
  private readonly verified = new Map<string, number>();

  constructor(
    private readonly store: IdentityStore,
    private readonly oidc: Pick<OidcVerifier, 'verify'>,
    private readonly throttle: LoginThrottle,
    private readonly clock: Clock,
  ) {}

  /** Checks a username and secret (a password, a robot secret, or a CI ID token for "oidc"). */
  async login(username: string, secret: string, address: string | undefined): Promise<Identity> {
    const isOidc = username === OIDC_USERNAME;
    const admission = await this.throttle.admit({
      // A name no store can hold is counted against the address only: it has no account to protect.
      name: isOidc || isPrincipalName(username) ? username : undefined,
      address,
      // All CI runs share the name "oidc", and an ID token is not guessable: no budget of its own.
      nameBudget: !isOidc,
    });
    try {
      const identity = isOidc ? await this.loginWithIdToken(secret) : await this.loginWithSecret(username, secret);
      await this.throttle.succeeded(admission);
      return identity;
    } catch (error) {
      if (error instanceof AuthenticationError) await this.throttle.failed(admission);
      throw error;
    }
  }

  /** Who a refresh token stands for, if it is still good: same principal generation, same rules. */
  async fromRefresh(subject: RefreshSubject): Promise<Identity> {
    if (subject.kind === 'principal') {
      const record = await this.store.getPrincipal(subject.name);
      if (!record || record.generation !== subject.generation) {
        throw new AuthenticationError('this login was revoked (the account was removed or its secret changed); log in again');
      }
      return { kind: 'principal', subject: record.name, generation: record.generation };
    }
    const federation = await this.store.getFederation(subject.issuer);
    if (!federation || federation.generation !== subject.generation) {
      throw new AuthenticationError('the CI issuer\'s trust or rules changed since this login; log in again');
    }
    return { kind: 'oidc', subject: subject.subject, issuer: subject.issuer, generation: subject.generation, grants: subject.grants, expiresAt: 0 };
  }

  /** The grants an identity holds now (plus what everyone may pull anonymously). */
  async grantsOf(identity: Identity | undefined): Promise<Grant[]> {
    const anonymous = await this.store.grantsOf(ANONYMOUS);
    if (!identity) return anonymous;
    const own = identity.kind === 'oidc' ? identity.grants : await this.store.grantsOf(identity.subject);
    return [...own, ...anonymous];
  }

  private async loginWithSecret(username: string, secret: string): Promise<Identity> {
    // Names no principal can have (upper case, "@", 200 characters...) are never looked up.
    const record = username === ANONYMOUS || !isPrincipalName(username) ? undefined : await this.store.getPrincipal(username);
    if (!record) {
      await verifyAgainstNothing(secret);
      throw new AuthenticationError('incorrect username or password');
    }
    const cacheKey = createHash('sha256').update(`${record.name}\0${record.secretHash}\0${secret}`).digest('base64url');
    const now = this.clock.now();
    const until = this.verified.get(cacheKey);
    if (until === undefined || until < now) {
      if (!(await verifySecret(secret, record.secretHash))) throw new AuthenticationError('incorrect username or password');
      if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
      this.verified.set(cacheKey, now + VERIFIED_CACHE_MS);
    }
    return { kind: 'principal', subject: record.name, generation: record.generation };
  }

  private async loginWithIdToken(idToken: string): Promise<Identity> {
    try {
      const federated = await this.oidc.verify(idToken);
      return { kind: 'oidc', ...federated };
    } catch (error) {
      if (error instanceof OidcRejectedError) throw new AuthenticationError(error.message);
      throw error;
    }
  }
}
