import { randomBytes } from 'node:crypto';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { runNimbus } from '../support/nimbus-cli';
import type { Credentials } from '../support/registry-target';
import { defineConformanceSuite } from './suite';

// `npm run dev:aws` (the real Lambda handler behind the API Gateway stand-in, DynamoDB
// Local, fauxqs, the upload endpoint beside it), logged in through the token flow as a CI
// user made with the `npx nimbus` command its startup log prints, with automatic
// cross-mount on: the suite's default order, then blobs before manifests.
const root = `oci-${randomBytes(4).toString('hex')}`;
let login: Promise<Credentials> | undefined;

/** A user that may push, pull and delete under oci-*, and push and pull into conformance-* (the suite's default cross-mount namespace). */
async function createCiUser(running: RunningDevAws): Promise<Credentials> {
  const [npx, nimbus, ...targetArgs] = running.nimbusCli.split(' ');
  if (npx !== 'npx' || nimbus !== 'nimbus') throw new Error(`dev:aws printed "${running.nimbusCli}", not an npx nimbus command`);
  const credentials = { username: 'conformance', password: randomBytes(18).toString('base64url') };
  const commands: Array<{ args: string[]; input?: string }> = [
    { args: ['user', 'add', credentials.username, '--password-stdin'], input: credentials.password },
    { args: ['grant', credentials.username, 'oci-*/**', 'pull,push,delete'] },
    { args: ['grant', credentials.username, 'conformance-*', 'pull,push'] },
  ];
  for (const { args, input } of commands) {
    const run = await runNimbus([...targetArgs, ...args], { input });
    if (run.code !== 0) throw new Error(`nimbus ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`);
  }
  return credentials;
}

defineConformanceSuite<RunningDevAws>({
  name: 'npm run dev:aws (logged in, automatic cross-mount)',
  start: () => devAwsTarget({ ownEmulators: true }).start(),
  login: (running) => (login ??= createCiUser(running)),
  runs: [
    { namespace: `${root}/myrepo`, deleteManifestBeforeBlobs: true, automaticCrossmount: true },
    { namespace: `${root}/blobs-first/myrepo`, crossmountNamespace: `${root}/blobs-first/other`, deleteManifestBeforeBlobs: false, automaticCrossmount: true },
  ],
});
