import { CliError } from './errors';
import { errorMessage, parseChallenge } from './push/auth';

/** The scope of registry administration routes (/v2/_nimbus/...). */
const ADMIN_SCOPE = 'registry:nimbus:*';

/**
 * Calls an administration route of a running registry. With auth on, the registry answers
 * 401 with a Bearer challenge: the CLI logs in with NIMBUS_USERNAME/NIMBUS_PASSWORD for the
 * admin scope, then asks again.
 */
export async function adminRequest(url: URL, init: RequestInit, env: NodeJS.ProcessEnv = process.env): Promise<Response> {
  const first = await send(url, init);
  if (first.status !== 401) return first;
  await first.body?.cancel();
  const authorization = await login(url, first, env);
  return send(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization } });
}

async function send(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new CliError(`cannot reach the registry at ${url.origin}: ${(error as Error).cause ?? (error as Error).message}`);
  }
}

async function login(url: URL, refused: Response, env: NodeJS.ProcessEnv): Promise<string> {
  const { NIMBUS_USERNAME: username, NIMBUS_PASSWORD: password } = env;
  if (!username || !password) {
    throw new CliError(`${url.host} requires a login: set NIMBUS_USERNAME and NIMBUS_PASSWORD to a user granted '**' pull,push,delete `
      + `(npx nimbus grant NAME '**' pull,push,delete)`);
  }
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const challenge = parseChallenge(refused.headers.get('www-authenticate'));
  if (challenge?.scheme !== 'bearer' || !challenge.params.realm) return basic;
  const realm = new URL(challenge.params.realm);
  if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
  realm.searchParams.set('scope', ADMIN_SCOPE);
  const response = await send(realm, { headers: { authorization: basic }, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  if (!response.ok) throw new CliError(`${url.host} refused the login of ${username}: ${errorMessage(text) ?? `HTTP ${response.status}`}`);
  const body = JSON.parse(text) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new CliError(`the token endpoint of ${url.host} answered without a token`);
  return `Bearer ${token}`;
}
