import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ANONYMOUS, checkName, ROBOT_PREFIX, type IdentityStore, type PrincipalKind } from '../functions/auth/identity-store';
import { generateSecret, hashSecret } from '../functions/auth/secret-hash';
import { CliError } from './errors';
import { note, printTable, readNewPassword } from './io';
import { openIdentityStore, type TargetOptions } from './target';

/** `nimbus user ...` and `nimbus robot ...`: who may log in. */
export function registerPrincipalCommands(program: Command): void {
  const user = program.command('user').description('manage users (docker login with a name and password)');
  user.command('add <name>')
    .description('create a user; the password is asked for, or read from stdin with --password-stdin')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, options: { passwordStdin?: boolean }, command: Command) => {
      const fullName = checkName(name, 'user');
      const password = await readNewPassword(Boolean(options.passwordStdin));
      const store = await openIdentityStore(targetOf(command), true);
      await store.createPrincipal(await newRecord(fullName, 'user', password));
      console.log(`created user ${fullName}`);
      note(`grant access with: npx nimbus grant ${fullName} '${fullName}/*' pull,push`);
    });
  user.command('passwd <name>')
    .description('set a new password; logins stored by docker (refresh tokens) stop working')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, options: { passwordStdin?: boolean }, command: Command) => {
      const store = await openIdentityStore(targetOf(command), false);
      const record = await existing(store, name, 'user');
      const password = await readNewPassword(Boolean(options.passwordStdin));
      await store.updatePrincipal({ ...record, secretHash: await hashSecret(password), generation: randomUUID() });
      console.log(`changed the password of ${name}`);
    });
  user.command('list').description('list users and robots with their grants')
    .action(async (_options: unknown, command: Command) => listPrincipals(await openIdentityStore(targetOf(command), false)));
  user.command('remove <name>')
    .description('remove a user and its grants; its tokens stop being refreshed')
    .action(async (name: string, _options: unknown, command: Command) => {
      await remove(await openIdentityStore(targetOf(command), false), name, 'user');
    });

  const robot = program.command('robot').description(`manage robot accounts for CI (login name ${ROBOT_PREFIX}NAME, generated secret)`);
  robot.command('create <name>')
    .description('create a robot and print its secret, once (stdout; the rest goes to stderr)')
    .action(async (name: string, _options: unknown, command: Command) => {
      const fullName = checkName(name, 'robot');
      const secret = generateSecret();
      const store = await openIdentityStore(targetOf(command), true);
      await store.createPrincipal(await newRecord(fullName, 'robot', secret));
      note(`created robot ${fullName}. Its secret is shown only this once:`);
      console.log(secret);
      note(`log in with: echo "$SECRET" | docker login REGISTRY -u ${fullName} --password-stdin`);
      note(`grant access with: npx nimbus grant ${fullName} 'team/*' pull,push`);
    });
  robot.command('list').description('list users and robots with their grants')
    .action(async (_options: unknown, command: Command) => listPrincipals(await openIdentityStore(targetOf(command), false)));
  robot.command('remove <name>')
    .description('remove a robot and its grants')
    .action(async (name: string, _options: unknown, command: Command) => {
      await remove(await openIdentityStore(targetOf(command), false), name.startsWith(ROBOT_PREFIX) ? name : ROBOT_PREFIX + name, 'robot');
    });
}

export function targetOf(command: Command): TargetOptions {
  return command.optsWithGlobals<TargetOptions>();
}

async function newRecord(name: string, kind: PrincipalKind, secret: string) {
  return { name, kind, secretHash: await hashSecret(secret), generation: randomUUID(), createdAt: new Date().toISOString() };
}

async function existing(store: IdentityStore, name: string, kind: PrincipalKind) {
  const record = await store.getPrincipal(name);
  if (!record || record.kind !== kind) throw new CliError(`no ${kind} named "${name}" (see: npx nimbus user list)`);
  return record;
}

async function remove(store: IdentityStore, name: string, kind: PrincipalKind): Promise<void> {
  await existing(store, name, kind);
  await store.deletePrincipal(name);
  console.log(`removed ${kind} ${name} and its grants`);
}

async function listPrincipals(store: IdentityStore): Promise<void> {
  const [principals, grants] = await Promise.all([store.listPrincipals(), store.listGrants()]);
  const describe = (name: string) => (grants.get(name) ?? []).map((g) => `${g.pattern}:${g.actions.join(',')}`).join(' ') || '-';
  const rows = principals.map((p) => [p.name, p.kind, p.createdAt.slice(0, 19).replace('T', ' '), describe(p.name)]);
  if (grants.has(ANONYMOUS)) rows.push([ANONYMOUS, '-', '-', describe(ANONYMOUS)]);
  if (rows.length === 0) {
    note('no users yet: npx nimbus user add NAME --password-stdin');
    return;
  }
  printTable(['NAME', 'KIND', 'CREATED', 'GRANTS'], rows);
}
