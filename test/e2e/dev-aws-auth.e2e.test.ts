import { devAwsTarget } from '../support/dev-aws-target';
import { defineAuthE2E, runNimbus } from './auth-e2e';

/**
 * The deployed path's auth, offline: `npm run dev:aws` with the emulators it starts itself
 * (the real Lambda handler, users and grants in DynamoDB Local, the signing key through the
 * Secrets Manager stand-in). Users are managed with the `npx nimbus` command its startup
 * log prints, as a developer would paste it, with no AWS credentials in the environment.
 */
defineAuthE2E({
  name: 'npm run dev:aws',
  async start() {
    const registry = await devAwsTarget({ ownEmulators: true }).start();
    const [npx, nimbus, ...targetArgs] = registry.nimbusCli.split(' ');
    if (npx !== 'npx' || nimbus !== 'nimbus') {
      await registry.stop();
      throw new Error(`dev:aws printed "${registry.nimbusCli}", not an npx nimbus command`);
    }
    return {
      host: registry.host,
      nimbus: (args, input) => runNimbus([...targetArgs, ...args], {}, input),
      logs: () => registry.logs(),
      stop: () => registry.stop(),
    };
  },
});
