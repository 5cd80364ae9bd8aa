import type { Command } from 'commander';
import { CliError } from '../errors';
import type { DoctorOptions } from './run-doctor';

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 3600) throw new CliError(`--timeout takes whole seconds from 1 to 3600, not "${value}"`);
  return number;
}

/** `nimbus doctor REGISTRY_URL`: what to run right after `cdk deploy`. */
export function registerDoctorCommand(program: Command): void {
  program.command('doctor <registry-url>')
    .description('check a registry end to end as real clients use it (login, uploads of every kind, mount, manifest, pull), then delete what it pushed')
    .option('-u, --username <name>', 'log in as this user or robot (with --password-stdin)')
    .option('--password-stdin', 'read the password or robot secret from stdin')
    .option('--repository <name>', 'scratch repository to push to (default: nimbus-doctor/<random>); NAME-mount takes the mount')
    .option('--large', 'also push a 2 GiB layer in one chunked PATCH, as docker pushes big layers')
    .option('--timeout <seconds>', 'give up on a request after this long without progress (longer than CloudFront\'s 120 s origin timeout, so its 504 shows)', seconds, 150)
    .option('--insecure', 'do not verify TLS certificates (self-signed test registries)')
    .option('--json', 'print the report as JSON on stdout (the lines go to stderr)')
    .option('--keep', 'leave what doctor pushed in place, for a look')
    .addHelpText('after', [
      '',
      'REGISTRY_URL is the RegistryUrl output of npx cdk deploy (https://...), or HOST[:PORT]',
      '(HTTPS; HTTP for localhost and 127.0.0.1). Run it right after the deploy:',
      '  echo "$PASSWORD" | npx nimbus doctor https://abc123.execute-api.eu-west-1.amazonaws.com -u admin --password-stdin',
      '',
      'Credentials, first found wins: --username with --password-stdin; NIMBUS_USERNAME and NIMBUS_PASSWORD;',
      'the login docker login HOST stored; else anonymous. The login needs pull, push and delete on',
      'nimbus-doctor/** (npx nimbus grant USER \'nimbus-doctor/**\' pull,push,delete), or pass --repository.',
      '',
      'Checks, each against the scratch repository, one line each with its time and throughput:',
      '  login                  GET /v2/, the token flow, GET /v2/ again',
      '  first upload (wake)    the upload POST (which wakes a scaled-to-zero upload endpoint: its time',
      '                         is the first push\'s wait) and the first request to the upload Location;',
      '                         while the endpoint starts, retried after 5, 10, 15, 20 s as docker does',
      '  upload Location        followed as docker does (no Authorization to another host); a forged',
      '                         capability must be refused',
      '  chunked PATCH          docker\'s push: one PATCH, Transfer-Encoding: chunked, then PUT ?digest=',
      '                         (1 MiB, 100 MiB; 2 GiB with --large). The answer\'s delay after the last',
      '                         byte shows whether something in front buffers the body',
      '  sized PATCH            skopeo\'s push: one PATCH with Content-Length (32 MiB)',
      '  monolithic POST / PUT  POST ?digest= with the body (1 MiB); POST then PUT ?digest= with the',
      '                         body, as containerd and oras (32 MiB)',
      '  cross-repository mount POST ?mount=&from= into NAME-mount',
      '  manifest push and pull PUT by tag, GET by tag (same bytes), HEAD by digest',
      '  blob pull              GET through the 307 to storage (no Authorization there), digest checked,',
      '                         and a Range request',
      'Bodies are generated as they are sent (no disk, little memory). A failure prints its likely',
      'cause and fix; checks that depend on it are skipped. Then tags, manifests, blobs and open',
      'upload sessions are deleted (what cannot be deleted is listed; that is not a failure).',
      'Exit status: 0 when every check passed, 1 when one failed, 130 when interrupted.',
    ].join('\n'))
    .action(async (url: string, options: DoctorOptions) => {
      const { runDoctor } = await import('./run-doctor');
      await runDoctor(url, options);
    });
}
