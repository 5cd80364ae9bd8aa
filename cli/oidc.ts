import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { compileRule } from '../functions/auth/claim-rules';
import { parseActions, parsePattern } from '../functions/auth/grants';
import type { FederationRecord, IdentityStore } from '../functions/auth/identity-store';
import { checkedUrl } from '../functions/auth/oidc';
import { CliError } from './errors';
import { note, printTable } from './io';
import { openIdentityStore } from './target';
import { targetOf } from './users';

/** `nimbus oidc ...`: CI federation (docker login -u oidc -p "$ID_TOKEN"). */
export function registerOidcCommands(program: Command): void {
  const oidc = program.command('oidc').description('trust CI ID tokens (GitHub Actions, GitLab, ...) instead of long-lived secrets');

  oidc.command('trust <issuer>')
    .description('accept ID tokens from ISSUER whose audience is --audience (keeps existing rules)')
    .requiredOption('--audience <aud>', 'the audience CI jobs request for this registry')
    .option('--jwks-uri <url>', 'signing keys URL (default: from the issuer\'s OpenID discovery document)')
    .addHelpText('after', '\nExample (GitHub Actions):\n  npx nimbus oidc trust https://token.actions.githubusercontent.com --audience https://registry.example.com')
    .action(async (issuer: string, options: { audience: string; jwksUri?: string }, command: Command) => {
      validUrl(issuer, 'issuer');
      if (options.jwksUri) validUrl(options.jwksUri, 'JWKS');
      const store = await openIdentityStore(targetOf(command), true);
      const current = await store.getFederation(issuer);
      const record: FederationRecord = {
        issuer, audience: options.audience, rules: current?.rules ?? [], generation: randomUUID(),
        ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
      };
      await store.putFederation(record);
      console.log(`${current ? 'updated' : 'trusting'} ${issuer} (audience ${options.audience})`);
      if (record.rules.length === 0) note(`now add rules: npx nimbus oidc rule add ${issuer} 'org/app' pull,push --when 'repository == "org/app" && ref == "refs/heads/main"'`);
    });

  oidc.command('untrust <issuer>')
    .description('stop accepting ID tokens from ISSUER; its logins stop being refreshed')
    .action(async (issuer: string, _options: unknown, command: Command) => {
      const store = await openIdentityStore(targetOf(command), false);
      if (!(await store.deleteFederation(issuer))) throw new CliError(`${issuer} is not trusted (see: npx nimbus oidc list)`);
      console.log(`no longer trusting ${issuer}`);
    });

  oidc.command('list').description('list trusted issuers and their numbered rules')
    .action(async (_options: unknown, command: Command) => {
      const federations = await (await openIdentityStore(targetOf(command), false)).listFederations();
      if (federations.length === 0) return note('no trusted issuers: npx nimbus oidc trust ISSUER --audience AUD');
      const rows = federations.flatMap((f) => (f.rules.length === 0
        ? [[f.issuer, f.audience, '-', '(no rules: grants nothing)', '-']]
        : f.rules.map((rule, i) => [f.issuer, f.audience, String(i + 1), rule.when, `${rule.actions.join(',')} on ${rule.pattern}`])));
      printTable(['ISSUER', 'AUDIENCE', '#', 'WHEN', 'GRANTS'], rows);
    });

  const rule = oidc.command('rule').description('claim rules: which ID tokens get which grants');
  rule.command('add <issuer> <pattern> <actions>')
    .description('grant ACTIONS on PATTERN to ID tokens of ISSUER whose claims satisfy --when')
    .requiredOption('--when <expression>', 'claims test: claim == "value", !=, &&, ||, parentheses')
    .addHelpText('after', '\nExample:\n  npx nimbus oidc rule add https://token.actions.githubusercontent.com org/app pull,push \\\n'
      + '    --when \'repository == "org/app" && ref == "refs/heads/main"\'')
    .action(async (issuer: string, pattern: string, actions: string, options: { when: string }, command: Command) => {
      try {
        compileRule(options.when);
      } catch (error) {
        throw new CliError(`--when: ${(error as Error).message}`);
      }
      const grant = { pattern: parsePattern(pattern), actions: parseActions(actions) };
      const store = await openIdentityStore(targetOf(command), false);
      const federation = await trusted(store, issuer);
      await store.putFederation({ ...federation, rules: [...federation.rules, { when: options.when, ...grant }], generation: randomUUID() });
      console.log(`rule ${federation.rules.length + 1} of ${issuer}: ${grant.actions.join(',')} on ${grant.pattern} when ${options.when}`);
    });
  rule.command('remove <issuer> <number>')
    .description('remove rule NUMBER (as numbered by `oidc list`); logins it granted stop being refreshed')
    .action(async (issuer: string, number: string, _options: unknown, command: Command) => {
      const store = await openIdentityStore(targetOf(command), false);
      const federation = await trusted(store, issuer);
      const index = Number(number) - 1;
      if (!Number.isInteger(index) || !federation.rules[index]) throw new CliError(`${issuer} has no rule ${number} (see: npx nimbus oidc list)`);
      await store.putFederation({ ...federation, rules: federation.rules.filter((_, i) => i !== index), generation: randomUUID() });
      console.log(`removed rule ${number} of ${issuer}`);
    });
}

async function trusted(store: IdentityStore, issuer: string): Promise<FederationRecord> {
  const federation = await store.getFederation(issuer);
  if (!federation) throw new CliError(`${issuer} is not trusted yet: npx nimbus oidc trust ${issuer} --audience AUD`);
  return federation;
}

function validUrl(value: string, what: string): void {
  try {
    checkedUrl(value, what);
  } catch (error) {
    throw new CliError(error instanceof TypeError ? `${value} is not a URL` : (error as Error).message);
  }
}
