import type { Grant } from './grants';

/**
 * The identity store port: who may log in, what they may do, and which CI issuers are
 * trusted. Implemented on files (adapters/fs/identity-store.ts) and DynamoDB. Every read
 * goes to the store, so changes made by `nimbus` while a server runs apply at once.
 */
export type PrincipalKind = 'user' | 'robot';

export interface PrincipalRecord {
  /** Login name: `alice`, or `robot+ci` for robots. */
  name: string;
  kind: PrincipalKind;
  /** scrypt hash of the password or robot secret (see secret-hash.ts); never the secret. */
  secretHash: string;
  /**
   * Random, replaced whenever the principal is (re)created or its secret changes.
   * Refresh tokens carry it, so removing a user or changing a password revokes them.
   */
  generation: string;
  /** ISO 8601. */
  createdAt: string;
}

/** A claim rule of a trusted OIDC issuer: when `when` holds for the ID token, grant. */
export interface ClaimRule extends Grant {
  /** An expression over the token's claims, e.g. `repository == "org/app" && ref == "refs/heads/main"`. */
  when: string;
}

export interface FederationRecord {
  /** Exact `iss` of accepted ID tokens, e.g. https://token.actions.githubusercontent.com */
  issuer: string;
  /** Required `aud` of accepted ID tokens (the registry's name as configured in the CI). */
  audience: string;
  /** JWKS URL; found through the issuer's OpenID discovery document when absent. */
  jwksUri?: string;
  rules: ClaimRule[];
  /** Replaced on every change, so refresh tokens minted from older rules stop working. */
  generation: string;
}

/** Anonymous callers' grants are stored under this reserved principal name (pull only). */
export const ANONYMOUS = 'anonymous';
/** `docker login -u oidc -p $ID_TOKEN` logs in with a CI ID token. */
export const OIDC_USERNAME = 'oidc';
export const ROBOT_PREFIX = 'robot+';

export interface IdentityStore {
  getPrincipal(name: string): Promise<PrincipalRecord | undefined>;
  /** Creates the principal; throws PrincipalExistsError when the name is taken. */
  createPrincipal(record: PrincipalRecord): Promise<void>;
  /** Replaces an existing principal (new secret); throws StoreNotFoundError when absent. */
  updatePrincipal(record: PrincipalRecord): Promise<void>;
  /** Removes the principal and its grants; returns whether it existed. */
  deletePrincipal(name: string): Promise<boolean>;
  listPrincipals(): Promise<PrincipalRecord[]>;

  grantsOf(principal: string): Promise<Grant[]>;
  /** Replaces the principal's grants with `grants` (empty removes them all). */
  setGrants(principal: string, grants: Grant[]): Promise<void>;
  /** Every principal's grants, anonymous included. */
  listGrants(): Promise<Map<string, Grant[]>>;

  getFederation(issuer: string): Promise<FederationRecord | undefined>;
  putFederation(record: FederationRecord): Promise<void>;
  deleteFederation(issuer: string): Promise<boolean>;
  listFederations(): Promise<FederationRecord[]>;
}

export class PrincipalExistsError extends Error {
  constructor(name: string) {
    super(`"${name}" already exists; remove it first or pick another name`);
    this.name = 'PrincipalExistsError';
  }
}

const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export class NameError extends Error {}

/** Validates a user or robot base name, refusing the reserved ones. */
export function checkName(name: string, kind: PrincipalKind): string {
  if (!USER_NAME.test(name)) {
    throw new NameError(`"${name}" is not a valid ${kind} name: use 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  if (kind === 'user' && (name === ANONYMOUS || name === OIDC_USERNAME)) {
    throw new NameError(`"${name}" is reserved: "${ANONYMOUS}" holds anonymous grants and "${OIDC_USERNAME}" logs in with CI ID tokens`);
  }
  return kind === 'robot' ? ROBOT_PREFIX + name : name;
}

/** Whether `name` can name a grant holder: a user, `robot+NAME`, or `anonymous`. */
export function isPrincipalName(name: string): boolean {
  if (name === ANONYMOUS) return true;
  const base = name.startsWith(ROBOT_PREFIX) ? name.slice(ROBOT_PREFIX.length) : name;
  return USER_NAME.test(base) && base !== OIDC_USERNAME;
}
