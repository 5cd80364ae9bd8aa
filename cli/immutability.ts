import type { Command } from 'commander';
import type { ImmutabilityDocument, ImmutabilityRule } from '../functions/core/policy/immutability';
import { addAdminTargetOptions, expectOk, type AdminEndpoint } from './admin-endpoint';
import { CliError } from './errors';
import { note, printTable } from './io';
import { withEndpoint } from './retention';

const PATH = '/v2/_nimbus/immutability';
const CAS_ATTEMPTS = 5;

function list(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter(Boolean);
}

/** Reads the document, applies `change`, and writes it back if nobody changed it meanwhile (If-Match). */
async function update(endpoint: AdminEndpoint, change: (document: ImmutabilityDocument) => ImmutabilityDocument): Promise<ImmutabilityDocument> {
  for (let attempt = 1; ; attempt++) {
    const current = await endpoint.request('GET', PATH);
    const etag = current.headers.get('etag') ?? '';
    const next = change(await expectOk<ImmutabilityDocument>(current, 'reading the immutability rules'));
    const written = await endpoint.request('PUT', PATH, { body: JSON.stringify(next), headers: { 'content-type': 'application/json', 'if-match': etag } });
    if (written.status === 409 && attempt < CAS_ATTEMPTS) {
      await written.body?.cancel();
      continue;
    }
    return expectOk<ImmutabilityDocument>(written, 'writing the immutability rules');
  }
}

function nameOf(document: ImmutabilityDocument, rule: ImmutabilityRule): string {
  return rule.id ?? `#${document.rules.indexOf(rule) + 1}`;
}

/** The next free id: rule-1, rule-2, ... */
function freshId(document: ImmutabilityDocument): string {
  const taken = new Set(document.rules.map((rule) => rule.id));
  for (let n = document.rules.length + 1; ; n++) if (!taken.has(`rule-${n}`)) return `rule-${n}`;
}

/** `nimbus immutability add|list|remove`: immutable tags (functions/core/policy/immutability.ts). */
export function registerImmutabilityCommands(program: Command): void {
  const immutability = program.command('immutability')
    .description('tag immutability: tags that, once pushed, cannot be overwritten or deleted (403 DENIED naming the rule)');

  addAdminTargetOptions(immutability.command('add'))
    .description('make tags immutable in repositories matching a pattern')
    .requiredOption('--repository <pattern>', 'repository pattern: team/app, team/*, team/**, **')
    .option('--tags <patterns>', 'comma list of tag globs (v*, release-?) or /regex/ (default: every tag)')
    .option('--except <patterns>', 'comma list of tag patterns that stay mutable, e.g. latest')
    .option('--id <id>', 'a name for the rule (default: rule-N)')
    .addHelpText('after', "\nExamples:\n  npx nimbus immutability add --repository 'team/**' --except latest\n  npx nimbus immutability add --repository '**' --tags 'v*' --id releases --registry http://localhost:5000")
    .action(async (options: { repository: string; tags?: string; except?: string; id?: string }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        let added = '';
        await update(endpoint, (document) => {
          const id = options.id ?? freshId(document);
          if (document.rules.some((rule) => rule.id === id)) throw new CliError(`a rule named ${id} exists already (see: npx nimbus immutability list)`);
          added = id;
          const rule: ImmutabilityRule = {
            id, repositories: options.repository,
            ...(options.tags ? { tags: list(options.tags) } : {}), ...(options.except ? { except: list(options.except) } : {}),
          };
          return { ...document, rules: [...document.rules, rule] };
        });
        console.log(`${endpoint.where}: immutability rule ${added} added`);
      });
    });

  addAdminTargetOptions(immutability.command('list'))
    .description('list the immutability rules')
    .option('--json', 'print the document as JSON')
    .addHelpText('after', '\nExamples:\n  npx nimbus immutability list\n  npx nimbus immutability list --json --table NimbusTable')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const document = await expectOk<ImmutabilityDocument>(await endpoint.request('GET', PATH), 'reading the immutability rules');
        if (options.json) return console.log(JSON.stringify(document));
        if (document.rules.length === 0) return note('no immutability rules: npx nimbus immutability add --repository PATTERN');
        printTable(['ID', 'REPOSITORIES', 'TAGS', 'EXCEPT'], document.rules.map((rule) => [
          nameOf(document, rule), rule.repositories, (rule.tags ?? ['*']).join(','), (rule.except ?? []).join(','),
        ]));
      });
    });

  addAdminTargetOptions(immutability.command('remove <id>'))
    .description('remove an immutability rule by its id (as list shows it; #N for a rule without one)')
    .addHelpText('after', '\nExamples:\n  npx nimbus immutability remove rule-1\n  npx nimbus immutability remove releases --registry http://localhost:5000')
    .action(async (id: string, _options: unknown, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        await update(endpoint, (document) => {
          const rule = document.rules.find((each) => nameOf(document, each) === id);
          if (!rule) throw new CliError(`no immutability rule ${id} (see: npx nimbus immutability list)`);
          return { ...document, rules: document.rules.filter((each) => each !== rule) };
        });
        console.log(`${endpoint.where}: immutability rule ${id} removed`);
      });
    });
}
