import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { verifySecret } from '../../functions/auth/secret-hash';
import { startAwsEmulators, type AwsEmulators } from '../support/emulators';

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

/** `nimbus` as an admin runs it against a deployed stack, here DynamoDB Local. */
function nimbus(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/nimbus.mjs'), ...args], {
      cwd,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: emulators.region,
        AWS_ACCESS_KEY_ID: 'emulator',
        AWS_SECRET_ACCESS_KEY: 'emulator',
        AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
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
