
/**
 * Authorization as the core sees it: every route names the access it needs, and an
 * Authorizer (auth off, token auth, ...) decides. Auth schemes live outside the core.
 */
export type Action = 'pull' | 'push' | 'delete';

export interface AccessRequest {
  /** undefined for registry-wide routes (/v2/, _catalog). */
  repository?: string;
  actions: Action[];
  /**
   * Access the request can use but does not need: a mount's source repository, from which
   * the blob is linked when the caller may pull it (else it is uploaded). Challenges name
   * it, so a client that asks for the challenged scope can mount.
   */
  optional?: Array<{ repository: string; actions: Action[] }>;
  /**
   * Registry administration (garbage collection, retention, immutability: `/v2/_nimbus/…`
   * routes): needs every action on every repository, as a `**` grant with pull, push and delete.
   */
  admin?: true;
}

export interface Principal {
  /** Stable name (user, robot, oidc subject); undefined when anonymous. */
  subject?: string;
}

export interface Authorizer {
  /**
   * Resolves the caller and checks they hold `access`, throwing RegistryError
   * UNAUTHORIZED (with a challenge) or DENIED otherwise.
   */
  authorize(request: Request, access: AccessRequest): Promise<Principal>;
  /** Whether an already-authenticated caller may perform `action` on another repository (mounts). */
  can(principal: Principal, repository: string, action: Action): Promise<boolean>;
  /**
   * Whether the caller's grants allow `action` now, whatever the scopes its token asked for
   * (docker pull asks for pull only): who may trigger a pull-through cache fill. @default can
   */
  holds?(principal: Principal, repository: string, action: Action): Promise<boolean>;
  /** Extra routes the scheme serves (the token endpoint), matched before the registry's. */
  handle?(request: Request): Promise<Response | undefined>;
}

/** Everyone may do everything: registry:2's default, and `npm start`'s unless NIMBUS_AUTH=on. */
export const allowAll: Authorizer = {
  async authorize() {
    return {};
  },
  async can() {
    return true;
  },
};

