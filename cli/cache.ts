import type { Command } from 'commander';
import type { CacheRulesDocument } from '../functions/core/cache/rules';
import { addAdminTargetOptions, expectOk } from './admin-endpoint';
import { CliError } from './errors';
import { note, printTable, readStdin } from './io';
import { withEndpoint } from './retention';

const PATH = '/v2/_nimbus/cache';

interface AddOptions {
  username?: string;
  passwordStdin?: boolean;
  root?: boolean;
  open?: boolean;
  expireUnpulledDays?: string;
}

/** `--expire-unpulled-days N` as a whole number of days, or a CLI error saying what is wrong. */
function daysOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text)) throw new CliError(`--expire-unpulled-days takes a whole number of days (0 keeps for ever), not "${text.slice(0, 50)}"`);
  return Number(text);
}

function lifecycleText(rule: CacheRulesDocument['rules'][number]): string {
  // The route gives every prefix rule its lifecycle, the default included.
  const days = rule.expireUnpulledDays;
  if (rule.prefix === '' || days === undefined) return '(own retention)';
  return days === 0 ? 'keep for ever' : `unpulled ${days}d`;
}

/** `nimbus cache add|list|remove`: pull-through cache rules (functions/core/cache/). */
export function registerCacheCommands(program: Command): void {
  const cache = program.command('cache')
    .description('pull-through cache: serve repositories under a prefix from an upstream registry, fetched on first pull and kept');

  addAdminTargetOptions(cache.command('add <prefix-or-url> [upstream-url]'))
    .description('cache an upstream registry under PREFIX (PREFIX/team/app is team/app upstream), or at the root with --root')
    .option('--username <name>', 'log in to the upstream as this user (with --password-stdin)')
    .option('--password-stdin', 'read the upstream password or token from stdin (never printed, logged or listed)')
    .option('--root', 'mirror at the root: every repository no other rule covers (a docker daemon\'s registry-mirrors)')
    .option('--open', 'let anyone who may pull the prefix trigger fills (default: only principals with push on it)')
    .option('--expire-unpulled-days <n>', 'retention runs delete what nobody pulled for N days (default 30; 0 keeps for ever; not with --root)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  npx nimbus cache add dockerhub https://registry-1.docker.io',
      '  echo "$TOKEN" | npx nimbus cache add ghcr https://ghcr.io --username me --password-stdin',
      '  npx nimbus cache add mirror http://mirror.internal:5000 --open',
      '  npx nimbus cache add quay https://quay.io --expire-unpulled-days 0   # never expire what it cached',
      '  npx nimbus cache add --root https://registry-1.docker.io      # docker daemon: "registry-mirrors": ["https://nimbus.example.com"]',
    ].join('\n'))
    .action(async (first: string, second: string | undefined, options: AddOptions, command: Command) => {
      const [prefix, upstream] = options.root ? ['', second === undefined ? first : undefined] : [first, second];
      if (upstream === undefined) {
        throw new CliError(options.root ? 'with --root, give the upstream URL only: npx nimbus cache add --root https://registry-1.docker.io' : 'give a prefix and an upstream URL: npx nimbus cache add dockerhub https://registry-1.docker.io');
      }
      if ((options.username !== undefined) !== (options.passwordStdin === true)) throw new CliError('--username and --password-stdin go together');
      const expireUnpulledDays = daysOption(options.expireUnpulledDays);
      const password = options.passwordStdin ? await readStdin('upstream password') : undefined;
      const body = { prefix, upstream, ...(options.username ? { username: options.username, password } : {}), ...(options.open ? { openFills: true } : {}),
        ...(expireUnpulledDays === undefined ? {} : { expireUnpulledDays }) };
      await withEndpoint(command, async (endpoint) => {
        await expectOk(await endpoint.request('POST', PATH, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), 'adding the cache rule');
        console.log(`${endpoint.where}: ${prefix === '' ? 'root mirror' : `cache rule ${prefix}/`} → ${upstream}${options.username ? ' (with credentials)' : ''}`);
      });
    });

  addAdminTargetOptions(cache.command('list'))
    .description('list the cache rules (credentials show as yes/no, never their values)')
    .option('--json', 'print the rules as JSON')
    .addHelpText('after', '\nExamples:\n  npx nimbus cache list\n  npx nimbus cache list --json --registry http://localhost:5000')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const document = await expectOk<CacheRulesDocument>(await endpoint.request('GET', PATH), 'reading the cache rules');
        if (options.json) return console.log(JSON.stringify(document));
        if (document.rules.length === 0) return note('no cache rules: npx nimbus cache add PREFIX UPSTREAM_URL');
        printTable(['PREFIX', 'UPSTREAM', 'CREDENTIALS', 'FILLS', 'LIFECYCLE'], document.rules.map((rule) => [
          rule.prefix === '' ? '(root)' : rule.prefix, rule.upstream, rule.credentials ? 'yes' : 'no', rule.openFills ? 'anyone who may pull' : 'push on the prefix',
          lifecycleText(rule),
        ]));
      });
    });

  addAdminTargetOptions(cache.command('remove [prefix]'))
    .description('remove a cache rule and its credentials (what it cached stays, as ordinary repositories)')
    .option('--root', 'remove the root mirror')
    .addHelpText('after', '\nExamples:\n  npx nimbus cache remove ghcr\n  npx nimbus cache remove --root --registry http://localhost:5000')
    .action(async (prefix: string | undefined, options: { root?: boolean }, command: Command) => {
      const target = options.root ? '' : prefix;
      if (target === undefined) throw new CliError('say which rule: npx nimbus cache remove PREFIX (or --root)');
      await withEndpoint(command, async (endpoint) => {
        await expectOk(await endpoint.request('DELETE', `${PATH}?prefix=${encodeURIComponent(target)}`), 'removing the cache rule');
        console.log(`${endpoint.where}: ${target === '' ? 'root mirror' : `cache rule ${target}/`} removed`);
      });
    });
}
