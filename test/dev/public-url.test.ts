import { afterAll, beforeAll, expect, it } from 'vitest';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { challengeWithHost } from '../support/forged-host';

let devAws: RunningDevAws;
beforeAll(async () => {
  devAws = await devAwsTarget({ uploadEndpoint: false }).start();
}, 180_000);
afterAll(() => devAws?.stop());

it('passes the function its own URL: challenges name it, whatever Host or X-Forwarded-* a client sends', async () => {
  for (const host of ['attacker.example', 'attacker.example:8443', devAws.host]) {
    for (const path of ['/v2/', '/v2/team/app/tags/list']) {
      expect(await challengeWithHost(devAws.url, path, host)).toMatch(new RegExp(`^Bearer realm="${devAws.url.replace(/\./g, '\\.')}/token",service="nimbus"`));
    }
  }
});
