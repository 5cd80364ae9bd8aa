import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { verifySecret } from '../../functions/auth/secret-hash';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { startSecretsStub } from '../../functions/dev/secrets-stub';
import { template } from '../infra/stacks';
import { collect, runNimbus, type Run } from '../support/nimbus-cli';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let emulators: AwsEmulators;
let table: string;
let cwd: string;

beforeAll(async () => {
  emulators = await startAwsEmulators();
  ({ table } = await emulators.createResources());
  cwd = await mkdtemp(join(tmpdir(), 'nimbus-cli-stack-'));
});
afterAll(async () => {
  await emulators?.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});


/** An admin's shell with AWS credentials and region, here pointed at DynamoDB Local. */
function adminEnv(): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    AWS_REGION: emulators.region,
    AWS_ACCESS_KEY_ID: 'emulator',
    AWS_SECRET_ACCESS_KEY: 'emulator',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
  };
}

/** `nimbus` as an admin runs it against a deployed stack, here DynamoDB Local. */
function nimbus(args: string[], input = '', env = adminEnv()): Promise<Run> {
  return runNimbus(args, { cwd, env, input });
}

/** A command line as an admin pastes it into a shell. */
function shell(command: string, extraEnv: Record<string, string>): Promise<Run> {
  return collect(spawn('sh', ['-c', command], { cwd, env: { ...adminEnv(), ...extraEnv } }), '');
}

it('manages users and grants in a deployed stack\'s table (--table, or --stack via cdk-outputs.json)', async () => {
  expect((await nimbus(['--table', table, 'user', 'add', 'admin', '--password-stdin'], 'first admin password\n')).code).toBe(0);
  expect((await nimbus(['--table', table, 'grant', 'admin', '**', 'pull,push,delete'])).code).toBe(0);
  const store = new DynamoIdentityStore(awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true }).dynamodb, table);
  expect(await verifySecret('first admin password', (await store.getPrincipal('admin'))!.secretHash)).toBe(true);
  expect(await store.grantsOf('admin')).toEqual([{ pattern: '**', actions: ['pull', 'push', 'delete'] }]);

  const missing = await nimbus(['--stack', 'NimbusRegistry', 'user', 'list']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/pass --table with the stack's MetadataTableName output/);
  await writeFile(join(cwd, 'cdk-outputs.json'), JSON.stringify({ NimbusRegistry: { MetadataTableName: table } }));
  const list = await nimbus(['--stack', 'NimbusRegistry', 'user', 'list']);
  expect(list.stdout).toMatch(/admin\s+user\s+.*\*\*:pull,push,delete/);
});

it('runs the stack\'s FirstAdminCommand output as printed (table and region filled in)', async () => {
  const { table: fresh } = await emulators.createResources();
  const outputs = template().toJSON().Outputs as Record<string, { Value: { 'Fn::Join': [string, unknown[]] } }>;
  const printed = outputs.FirstAdminCommand!.Value['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : (part as { Ref: string }).Ref === 'AWS::Region' ? emulators.region : fresh))
    .join('');
  expect(printed.match(/npx nimbus /g)).toHaveLength(2);
  // `npx nimbus` in a checkout runs bin/nimbus.mjs; call it directly so the test needs no npm.
  const command = printed.replaceAll('npx nimbus ', `"${process.execPath}" "${join(ROOT, 'bin/nimbus.mjs')}" `);
  const result = await shell(command, { PASSWORD: 'first admin password' });
  expect(result.code, result.stderr).toBe(0);
  const store = new DynamoIdentityStore(awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true }).dynamodb, fresh);
  expect(await verifySecret('first admin password', (await store.getPrincipal('admin'))!.secretHash)).toBe(true);
  expect(await store.grantsOf('admin')).toEqual([{ pattern: '**', actions: ['pull', 'push', 'delete'] }]);
});

it('reaches the table of npm run dev:aws with --dynamodb-local, without AWS credentials or region', async () => {
  const local = ['--dynamodb-local', emulators.endpoints.dynamodb, '--table', table];
  const bare = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  expect((await nimbus([...local, 'user', 'add', 'dev-admin', '--password-stdin'], 'dev password\n', bare)).code).toBe(0);
  expect((await nimbus([...local, 'grant', 'dev-admin', 'team/**', 'pull,push'], '', bare)).code).toBe(0);
  expect((await nimbus([...local, 'user', 'list'], '', bare)).stdout).toMatch(/dev-admin\s+user\s+.*team\/\*\*:pull,push/);

  const withoutTable = await nimbus(['--dynamodb-local', emulators.endpoints.dynamodb, 'user', 'list'], '', bare);
  expect(withoutTable.code).toBe(1);
  expect(withoutTable.stderr).toMatch(/--dynamodb-local needs --table/);
});

it('manages pull-through cache rules on a stack\'s table, credentials in Secrets Manager under nimbus/<stack>/cache/', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-cli-cache-'));
  const secretsFile = join(dir, 'secrets.json');
  const secrets = await startSecretsStub(new Map(), { persistTo: secretsFile });
  try {
    const { table: fresh } = await emulators.createResources();
    await writeFile(join(dir, 'cdk-outputs.json'), JSON.stringify({ CacheStack: { MetadataTableName: fresh } }));
    const env = { ...adminEnv(), AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint };
    const run = (args: string[], input = '', extra: Record<string, string> = {}) => runNimbus(args, { cwd: dir, env: { ...env, ...extra }, input });
    const password = 'upstream-password-never-printed';

    const added = await run(['--stack', 'CacheStack', 'cache', 'add', 'ghcr', 'https://ghcr.io', '--username', 'me', '--password-stdin'], `${password}\n`);
    expect(added.code, added.stderr).toBe(0);
    const listed = await run(['--stack', 'CacheStack', 'cache', 'list']);
    expect(listed.stdout).toMatch(/ghcr.*https:\/\/ghcr\.io.*yes.*unpulled 30d/);
    for (const output of [added, listed]) expect(output.stdout + output.stderr).not.toContain(password);
    const name = `nimbus/CacheStack/cache/${Buffer.from('ghcr').toString('hex')}`;
    const stored = JSON.parse(await readFile(secretsFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(stored)).toEqual([name]);
    expect(JSON.parse(stored[name]!)).toEqual({ username: 'me', password });

    // --table alone does not say where the stack keeps its secrets: listing works, a change says what to give.
    expect((await run(['--table', fresh, 'cache', 'list'])).stdout).toMatch(/ghcr/);
    const unnamed = await run(['--table', fresh, 'cache', 'remove', 'ghcr']);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(/--stack NAME, or set NIMBUS_SECRET_PREFIX=nimbus\/<stack name>/);
    const removed = await run(['--table', fresh, 'cache', 'remove', 'ghcr'], '', { NIMBUS_SECRET_PREFIX: 'nimbus/CacheStack' });
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(await readFile(secretsFile, 'utf8'))).toEqual({});
    expect((await run(['--stack', 'CacheStack', 'cache', 'list'])).stdout).not.toMatch(/ghcr/);
  } finally {
    await secrets.close();
    await rm(dir, { recursive: true, force: true });
  }
});
