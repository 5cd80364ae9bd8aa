import { Option, type Command } from 'commander';
import { CliError } from './errors';
import type { PushOptions } from './push/run-push';

function positiveInteger(name: string, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1 || number > max) throw new CliError(`${name} takes a whole number from 1 to ${max}, not "${value}"`);
    return number;
  };
}

/** `nimbus push SOURCE REF`: the direct-to-storage lane for CI. */
export function registerPushCommand(program: Command): void {
  program.command('push <source> <ref>')
    .description('push an image to a Nimbus registry, its layers straight to storage (parts in parallel, verified by the registry)')
    .option('--source-tag <name>', 'which image of a SOURCE holding several: its ref.name in an OCI layout, its RepoTags entry in a docker save tar')
    .option('--platform <os/arch[/variant]>', 'push one platform of a multi-platform index (e.g. linux/amd64)')
    .option('--username <name>', 'log in as this user or robot (with --password-stdin)')
    .option('--password-stdin', 'read the password or robot secret from stdin')
    .option('--registry <url>', 'reach the registry at this URL instead of https://HOST from REF')
    .option('--plain-http', 'talk HTTP, not HTTPS (the default for localhost and 127.0.0.1)')
    .option('--insecure', 'do not verify TLS certificates (self-signed test registries)')
    .addOption(new Option('--parallel <n>', 'parts uploaded at the same time').default(4).argParser(positiveInteger('--parallel', 64)))
    .addOption(new Option('--verify-timeout <seconds>', 'how long to wait for the registry to verify an uploaded layer').default(900).argParser(positiveInteger('--verify-timeout', 86_400)))
    .addOption(new Option('--progress <mode>', 'a bar on a terminal, plain lines in logs').choices(['auto', 'bar', 'plain', 'quiet']).default('auto'))
    .addHelpText('after', [
      '',
      'SOURCE is one of:',
      '  DIR          an OCI image layout (index.json, blobs/), e.g. from skopeo copy or buildx --output type=oci,tar=false',
      '  FILE.tar     docker save output (classic docker-archive, or the OCI layout of docker 25+), or an OCI layout tar;',
      '               gzipped tars work too. Archives are unpacked into $TMPDIR first, which needs room for the image.',
      '  -            such a tar on stdin',
      '',
      'REF is HOST[:PORT]/NAME[:TAG] or HOST[:PORT]/NAME@DIGEST (TAG defaults to latest).',
      'The manifest digest is printed on stdout; progress goes to stderr.',
      '',
      'Credentials, first found wins: --username with --password-stdin; NIMBUS_USERNAME and NIMBUS_PASSWORD;',
      'the login docker login HOST stored ($DOCKER_CONFIG/config.json or ~/.docker/config.json, credential',
      'helpers included); else anonymous. The login needs push access to NAME (npx nimbus grant USER NAME pull,push).',
      '',
      'Layers over 4 MiB go through the Nimbus direct-upload extension: the registry hands out presigned',
      'storage URLs, parts go straight to storage (retried with backoff), and the registry hashes every byte',
      'before the layer becomes visible. A layer whose bytes do not match its digest is deleted and the push',
      'fails with DIGEST_INVALID. Registries without the extension: use docker push or skopeo copy.',
      '',
      'Examples:',
      '  docker save app:1.0 | npx nimbus push - registry.example.com/team/app:1.0',
      '  npx nimbus push ./app.tar localhost:5000/app:dev',
      '  echo "$SECRET" | npx nimbus push ./oci-layout registry.example.com/team/app:1.0 --username robot+ci --password-stdin',
      '  npx nimbus push ./multiarch-layout registry.example.com/team/app:1.0 --parallel 8',
    ].join('\n'))
    .action(async (source: string, ref: string, options: Omit<PushOptions, 'progress'> & { progress: string }) => {
      const { runPush } = await import('./push/run-push');
      await runPush(source, ref, { ...options, progress: options.progress as PushOptions['progress'] });
    });
}
