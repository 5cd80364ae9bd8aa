/**
 * The registry's own API, with its token service: a 401 carries a Bearer challenge naming the
 * realm and scope; the UI asks the realm for a token (with the login's refresh token, or
 * anonymously) and retries once. Nothing but this origin is ever contacted.
 */
const REFRESH_KEY = 'nimbus.refresh';
const USER_KEY = 'nimbus.user';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

interface Challenge { realm: string; service: string; scope: string }

const tokens = new Map<string, string>();
let authRequired: boolean | undefined;
let lastChallenge: Challenge | undefined;

export function currentUser(): string | null {
  return sessionStorage.getItem(USER_KEY);
}

/** Whether the registry needs tokens at all (NIMBUS_AUTH=on, or the deployed registry). */
export async function authEnabled(): Promise<boolean> {
  if (authRequired === undefined) {
    const response = await fetch('/v2/', { headers: { Accept: 'application/json' } });
    authRequired = response.status === 401;
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (challenge) lastChallenge = challenge;
  }
  return authRequired;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const fields: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)="([^"]*)"/g)) fields[match[1]!] = match[2]!;
  if (!fields.realm) return undefined;
  return { realm: fields.realm, service: fields.service ?? '', scope: fields.scope ?? '' };
}

/** The realm as a path on this origin: tokens are only ever requested here. */
function realmPath(realm: string): string {
  const url = new URL(realm, location.origin);
  return url.pathname;
}

async function requestToken(challenge: Challenge): Promise<{ token: string; scope: string }> {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  let response: Response;
  if (refresh) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, service: challenge.service, scope: challenge.scope });
    response = await fetch(realmPath(challenge.realm), { method: 'POST', body: form });
  } else {
    const query = new URLSearchParams({ service: challenge.service });
    for (const scope of challenge.scope.split(' ').filter(Boolean)) query.append('scope', scope);
    response = await fetch(`${realmPath(challenge.realm)}?${query}`);
  }
  if (response.status === 401 && refresh) {
    logout();
    throw new ApiError(401, 'Your login expired; log in again.');
  }
  if (!response.ok) throw await errorOf(response);
  const body = await response.json() as { token?: string; access_token?: string; scope?: string };
  return { token: body.token ?? body.access_token ?? '', scope: body.scope ?? '' };
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = await response.json() as { errors?: Array<{ code: string; message: string }> };
    const first = body.errors?.[0];
    if (first) return new ApiError(response.status, first.message, first.code);
  } catch { /* not JSON */ }
  return new ApiError(response.status, `${response.status} ${response.statusText}`);
}

/** Calls the API; `scope` names the token the call needs (the challenge says so too). */
export async function call(path: string, scope: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const token = tokens.get(scope);
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401 || attempt === 1) {
      if (!response.ok) throw await errorOf(response);
      return response;
    }
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (!challenge) throw await errorOf(response);
    lastChallenge = challenge;
    tokens.set(scope, (await requestToken({ ...challenge, scope: challenge.scope || scope })).token);
  }
  throw new ApiError(401, 'unauthorized');
}

export async function getJson<T>(path: string, scope: string, accept = 'application/json'): Promise<T> {
  return (await call(path, scope, { headers: { Accept: accept } })).json() as Promise<T>;
}

/** Whether the caller may delete in `repository`: always with auth off; else what a token grants. */
export async function mayDelete(repository: string): Promise<boolean> {
  if (!(await authEnabled()) || !lastChallenge) return !authRequired;
  try {
    const granted = await requestToken({ ...lastChallenge, scope: `repository:${repository}:pull,delete` });
    const may = granted.scope.split(' ').some((scope) => scope.startsWith(`repository:${repository}:`) && scope.split(':').at(-1)!.split(',').includes('delete'));
    if (may) tokens.set(deleteScope(repository), granted.token);
    return may;
  } catch {
    return false;
  }
}

export const catalogScope = 'registry:catalog:*';
export const pullScope = (repository: string) => `repository:${repository}:pull`;
export const deleteScope = (repository: string) => `repository:${repository}:delete`;

/** Logs in with the token service (OAuth2 password grant, as docker login does) and keeps its refresh token for this tab. */
export async function login(username: string, password: string): Promise<void> {
  await authEnabled();
  const realm = lastChallenge?.realm ?? '/token';
  const form = new URLSearchParams({
    grant_type: 'password', username, password, access_type: 'offline', client_id: 'nimbus-ui', service: lastChallenge?.service ?? '',
  });
  const response = await fetch(realmPath(realm), { method: 'POST', body: form });
  if (!response.ok) throw await errorOf(response);
  const body = await response.json() as { refresh_token?: string };
  if (!body.refresh_token) throw new ApiError(500, 'the token service returned no refresh token');
  sessionStorage.setItem(REFRESH_KEY, body.refresh_token);
  sessionStorage.setItem(USER_KEY, username);
  tokens.clear();
}

export function logout(): void {
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStorage.removeItem(USER_KEY);
  tokens.clear();
}
