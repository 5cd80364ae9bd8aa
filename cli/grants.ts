import type { Command } from 'commander';
import { mergeGrants, parseActions, parsePattern, type Grant } from '../functions/auth/grants';
import { ANONYMOUS, isPrincipalName, type IdentityStore } from '../functions/auth/identity-store';
import { CliError } from './errors';
import { note, printTable } from './io';
import { openIdentityStore } from './target';
import { targetOf } from './users';

/** `nimbus grant`, `nimbus revoke`, `nimbus grants`: what principals may do. */
export function registerGrantCommands(program: Command): void {
  program.command('grant <principal> <pattern> <actions>')
    .description('allow ACTIONS (pull,push,delete) on repositories matching PATTERN (team/app, team/*, team/**, **); '
      + `principal "${ANONYMOUS}" allows pulls without login`)
    .addHelpText('after', "\nExamples:\n  npx nimbus grant alice 'alice/*' pull,push\n  npx nimbus grant robot+ci 'team/**' pull,push\n  npx nimbus grant anonymous 'public/*' pull")
    .action(async (principal: string, pattern: string, actionList: string, _options: unknown, command: Command) => {
      const grant: Grant = { pattern: parsePattern(pattern), actions: parseActions(actionList) };
      if (principal === ANONYMOUS && grant.actions.some((a) => a !== 'pull')) {
        throw new CliError('anonymous callers may only pull: grant anonymous PATTERN pull');
      }
      const store = await openIdentityStore(targetOf(command), false);
      await checkPrincipal(store, principal);
      const merged = mergeGrants([...(await store.grantsOf(principal)), grant]);
      await store.setGrants(principal, merged);
      console.log(`${principal} may now ${describe(merged.find((g) => g.pattern === grant.pattern)!)}`);
      if (grant.actions.includes('push') && !merged.some((g) => g.pattern === grant.pattern && g.actions.includes('pull'))) {
        note('note: docker push also checks what exists, which needs pull: consider pull,push');
      }
    });

  program.command('revoke <principal> <pattern> [actions]')
    .description('take back ACTIONS on PATTERN (all of them when ACTIONS is left out); tokens already issued expire within minutes')
    .action(async (principal: string, pattern: string, actionList: string | undefined, _options: unknown, command: Command) => {
      const store = await openIdentityStore(targetOf(command), false);
      const grants = await store.grantsOf(principal);
      const current = grants.find((g) => g.pattern === pattern);
      if (!current) throw new CliError(`${principal} holds no grant on "${pattern}" (see: npx nimbus grants ${principal})`);
      const removed = actionList === undefined ? current.actions : parseActions(actionList);
      const remaining = current.actions.filter((a) => !removed.includes(a));
      const next = grants.filter((g) => g.pattern !== pattern);
      if (remaining.length > 0) next.push({ pattern, actions: remaining });
      await store.setGrants(principal, next);
      console.log(remaining.length > 0 ? `${principal} may now ${describe({ pattern, actions: remaining })}` : `${principal} no longer holds anything on ${pattern}`);
    });

  program.command('grants [principal]')
    .description('list grants, of everyone or of one principal')
    .action(async (principal: string | undefined, _options: unknown, command: Command) => {
      const store = await openIdentityStore(targetOf(command), false);
      const all = principal === undefined ? await store.listGrants() : new Map([[principal, await store.grantsOf(principal)]]);
      const rows = [...all].flatMap(([name, grants]) => grants.map((g) => [name, g.pattern, g.actions.join(',')]));
      if (rows.length === 0) note('no grants: npx nimbus grant PRINCIPAL PATTERN ACTIONS');
      else printTable(['PRINCIPAL', 'PATTERN', 'ACTIONS'], rows);
    });
}

async function checkPrincipal(store: IdentityStore, principal: string): Promise<void> {
  if (principal === ANONYMOUS) return;
  if (!isPrincipalName(principal) || !(await store.getPrincipal(principal))) {
    throw new CliError(`no user or robot named "${principal}": create it first (npx nimbus user add ${principal}), or see npx nimbus user list`);
  }
}

function describe(grant: Grant): string {
  return `${grant.actions.join(',')} on ${grant.pattern}`;
}
