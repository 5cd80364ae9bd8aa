import { RegistryError } from '../core/errors';
import { readBodyWithin } from '../core/http/body';
import { jsonResponse } from '../core/http/responses';
import { AuthenticationError, type Identity } from './authenticator';
import { formatScope, parseScopes, type ResourceAccess } from './scopes';
import { describeError, TOKEN_PATH, type TokenAuth } from './token-auth';
import { TokenError, type RefreshSubject } from './token-service';

/**
 * The token endpoint. GET /token?service=&scope=... with Basic credentials or none (docker,
 * skopeo, podman; docker adds offline_token=true at login and then wants a refresh_token);
 * POST /token with a form for grant_type=password or grant_type=refresh_token (docker and
 * containers/image after login).
 */
/** A token form holds a refresh token and a few scopes: a few KiB. */
const MAX_FORM_BYTES = 64 * 1024;

export async function handleTokenRequest(auth: TokenAuth, request: Request): Promise<Response | undefined> {
  const url = new URL(request.url);
  if (url.pathname !== TOKEN_PATH) return undefined;
  if (request.method === 'GET') return tokenFromQuery(auth, request, url.searchParams);
  if (request.method === 'POST') return tokenFromForm(auth, request);
  throw new RegistryError('UNSUPPORTED', `${request.method} is not supported on the token endpoint`, { status: 405, headers: { Allow: 'GET, POST' } });
}

async function tokenFromQuery(auth: TokenAuth, request: Request, query: URLSearchParams): Promise<Response> {
  const identity = await auth.identify(request);
  const wantsRefresh = query.get('offline_token') === 'true' && identity !== undefined;
  return tokenResponse(auth, identity, parseScopes(query.getAll('scope')), wantsRefresh ? 'new' : 'none');
}

async function tokenFromForm(auth: TokenAuth, request: Request): Promise<Response> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new RegistryError('UNSUPPORTED', 'POST /token takes an application/x-www-form-urlencoded form', { status: 400 });
  }
  // Read no further than a form can need: a client that sends more gets 413, not our memory.
  const form = new URLSearchParams(new TextDecoder().decode(await readBodyWithin(request, MAX_FORM_BYTES, 'the token request form')));
  const scopes = parseScopes(form.getAll('scope'));
  switch (form.get('grant_type')) {
    case 'password': {
      const identity = await auth.login(request, form.get('username') ?? '', form.get('password') ?? '');
      return tokenResponse(auth, identity, scopes, form.get('access_type') === 'offline' ? 'new' : 'none');
    }
    case 'refresh_token': {
      const refreshToken = form.get('refresh_token') ?? '';
      let subject: RefreshSubject;
      try {
        subject = await auth.tokens.verifyRefresh(refreshToken);
      } catch (error) {
        if (!(error instanceof TokenError)) {
          auth.logger.log('warn', 'refresh token could not be checked', { error: describeError(error) });
          throw error;
        }
        throw auth.unauthorized(`the refresh token is not valid (${error.reason}); log in again`);
      }
      return tokenResponse(auth, await identityForRefresh(auth, subject), scopes, refreshToken);
    }
    default:
      throw new RegistryError('UNSUPPORTED', 'grant_type must be password or refresh_token', { status: 400 });
  }
}

/**
 * Only a login that was revoked gets 401, which makes docker drop it. A store that is
 * throttled or down is rethrown, so the client sees a retryable 429/503 and keeps its login.
 */
async function identityForRefresh(auth: TokenAuth, subject: RefreshSubject): Promise<Identity> {
  const principal = subject.kind === 'principal' ? subject.name : subject.subject;
  try {
    return await auth.authenticator.fromRefresh(subject);
  } catch (error) {
    if (error instanceof AuthenticationError) {
      auth.logger.log('warn', 'refresh refused', { principal, reason: error.message });
      throw auth.unauthorized(error.message);
    }
    auth.logger.log('warn', 'refresh failed', { principal, error: describeError(error) });
    throw error;
  }
}

/** `refresh`: 'new' mints a refresh token, a string is echoed back (refresh grant), 'none' omits it. */
async function tokenResponse(auth: TokenAuth, identity: Identity | undefined, requested: ResourceAccess[], refresh: 'new' | 'none' | string): Promise<Response> {
  const access = await auth.grantedAccess(identity, requested);
  const issued = await auth.tokens.issueAccess(identity?.subject, access);
  const body: Record<string, unknown> = {
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    scope: access.map(formatScope).join(' '),
  };
  if (identity && refresh === 'new') body.refresh_token = await mintRefresh(auth, identity);
  else if (refresh !== 'none' && refresh !== 'new') body.refresh_token = refresh;
  auth.logger.log('debug', 'token issued', { principal: identity?.subject ?? 'anonymous', scope: body.scope });
  return jsonResponse(200, body, { 'Cache-Control': 'no-store' });
}

function mintRefresh(auth: TokenAuth, identity: Identity): Promise<string> {
  if (identity.kind === 'principal') {
    return auth.tokens.issueRefresh({ kind: 'principal', name: identity.subject, generation: identity.generation });
  }
  // A CI login outlives its short ID token only by a bounded time.
  const cap = Math.floor(auth.clock.now() / 1000) + auth.oidcRefreshTtlSeconds;
  return auth.tokens.issueRefresh(
    { kind: 'oidc', subject: identity.subject, issuer: identity.issuer, generation: identity.generation, grants: identity.grants },
    cap,
  );
}
