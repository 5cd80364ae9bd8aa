import type { Check } from './checks';
import { seconds } from './observation';
import { CheckFailed } from './session';

/**
 * GET /v2/ as docker login does: a 401 challenge sends doctor to the token endpoint with
 * the credentials (pull, push and delete on the scratch repositories), then GET /v2/ again
 * with the token. A second GET measures what a request costs when nothing has to wake.
 */
export const loginCheck: Check = {
  name: 'login',
  needs: [],
  async run(ctx) {
    const { session } = ctx;
    const first = await session.send('GET', '/v2/');
    if (first.status === 404) {
      throw new CheckFailed(session.observe('registry', 'GET /v2/', first, { kind: 'not-a-registry', detail: 'GET /v2/ answered 404' }));
    }
    session.expect(first, [200], 'GET /v2/', 'registry');
    const again = session.expect(await session.send('GET', '/v2/'), [200], 'GET /v2/ again', 'registry');
    ctx.baselineMs = again.elapsedMs;
    const header = session.auth.header;
    const token = session.lastToken;
    const how = header?.startsWith('Bearer') && token ? `token from ${token.url.origin}${token.url.pathname} in ${seconds(token.elapsedMs)}`
      : header ? 'Basic credentials' : undefined;
    if (!how) {
      return { detail: `anonymous: the registry asks for no login${session.login ? ` (the credentials of ${session.login} were not needed)` : ''}; GET /v2/ takes ${seconds(again.elapsedMs)}` };
    }
    return { detail: `${session.login ? `as ${session.login}` : 'anonymous'}: ${how}; GET /v2/ takes ${seconds(again.elapsedMs)}` };
  },
};
