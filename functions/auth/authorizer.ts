import type { AccessRequest, Action, Authorizer, Principal } from '../core/access';
import { RegistryError } from '../core/errors';
import type { Identity } from './authenticator';
import { readCredentials } from './credentials';
import { allowsRegistryScope } from './grants';
import { covers, scopeFor, type ResourceAccess } from './scopes';
import { describeError, grantsAllow, TokenAuth, type TokenAuthOptions } from './token-auth';
import { handleTokenRequest } from './token-endpoint';
import { TokenError } from './token-service';

/** What an authorized caller may do: a token's access claims, or an identity's live grants. */
type Authority = { kind: 'token'; access: ResourceAccess[] } | { kind: 'identity'; identity: Identity | undefined };

/**
 * Token authentication as docker and containers/image speak it. Requests carry a Bearer
 * token from /token (or Basic credentials directly, as some CI tools send); a request
 * without the access it needs gets 401 and a challenge naming the scope, and a logged-in
 * caller without the grant gets 403 DENIED.
 */
export function createTokenAuthorizer(options: TokenAuthOptions): Authorizer {
  const auth = new TokenAuth(options);
  // The core hands principals back to can(); this remembers what each one may do.
  const authorities = new WeakMap<Principal, Authority>();

  function principal(subject: string | undefined, authority: Authority): Principal {
    const result: Principal = subject === undefined ? {} : { subject };
    authorities.set(result, authority);
    return result;
  }

  async function identityMay(identity: Identity | undefined, scope: ResourceAccess): Promise<boolean> {
    const grants = await auth.authenticator.grantsOf(identity);
    if (scope.type === 'registry') return allowsRegistryScope(grants, scope.name);
    return scope.actions.every((action) => grantsAllow(grants, scope.name, action as Action));
  }

  /** Whether the token's subject holds `scope` now, so a new token would carry it. */
  async function subjectMay(subject: string, scope: ResourceAccess): Promise<boolean> {
    // CI logins' grants live in their refresh token, not the store: what their token lacks they lack.
    if (subject.startsWith('oidc:')) return false;
    return identityMay({ kind: 'principal', subject, generation: '' }, scope);
  }

  return {
    async authorize(request: Request, access: AccessRequest): Promise<Principal> {
      const needed = scopeFor(access);
      const credentials = readCredentials(request);
      switch (credentials.scheme) {
        case 'bearer': {
          let claims;
          try {
            claims = await auth.tokens.verifyAccess(credentials.token);
          } catch (error) {
            if (!(error instanceof TokenError)) {
              auth.logger.log('warn', 'token could not be checked', { error: describeError(error) });
              throw error;
            }
            throw auth.unauthorized(error.message, needed, 'invalid_token');
          }
          if (needed && !covers(claims.access, needed)) {
            if (claims.subject !== undefined && !(await subjectMay(claims.subject, needed))) throw denied(needed);
            throw auth.unauthorized('the token does not grant this access; request a token with this scope', needed, 'insufficient_scope');
          }
          return principal(claims.subject, { kind: 'token', access: claims.access });
        }
        case 'basic': {
          const identity = await auth.login(request, credentials.username, credentials.password, needed);
          if (needed && !(await identityMay(identity, needed))) throw denied(needed);
          return principal(identity.subject, { kind: 'identity', identity });
        }
        case 'none':
          if (needed && (await identityMay(undefined, needed))) return principal(undefined, { kind: 'identity', identity: undefined });
          throw auth.unauthorized('authentication required', needed);
        default:
          throw auth.unauthorized('unsupported Authorization header: send a Bearer token or Basic credentials', needed);
      }
    },

    async can(caller: Principal, repository: string, action: Action): Promise<boolean> {
      const authority = authorities.get(caller);
      if (!authority) return false;
      const scope: ResourceAccess = { type: 'repository', name: repository, actions: [action] };
      return authority.kind === 'token' ? covers(authority.access, scope) : identityMay(authority.identity, scope);
    },

    async holds(caller: Principal, repository: string, action: Action): Promise<boolean> {
      const authority = authorities.get(caller);
      if (!authority) return false;
      const scope: ResourceAccess = { type: 'repository', name: repository, actions: [action] };
      if (authority.kind !== 'token') return identityMay(authority.identity, scope);
      return covers(authority.access, scope) || (caller.subject !== undefined && (await subjectMay(caller.subject, scope)));
    },

    handle: (request: Request) => handleTokenRequest(auth, request),
  };
}

function denied(scope: ResourceAccess): RegistryError {
  const what = scope.type === 'repository' ? `${scope.actions.join(',')} on ${scope.name}`
    : scope.name === 'catalog' ? 'the catalog (pull on **)' : 'registry administration (pull,push,delete on **)';
  return new RegistryError('DENIED', `requested access to the resource is denied: no grant for ${what}`, {
    detail: [{ Type: scope.type, Name: scope.name, Action: scope.actions.join(',') }],
  });
}
