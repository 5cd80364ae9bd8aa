import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SecretsManagerVault } from '../../functions/adapters/aws/secret-vault';
import { loadKeySetFromSecret } from '../../functions/adapters/aws/secrets-manager-keys';
import { startSecretsStub, type SecretsStub } from '../../functions/dev/secrets-stub';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:nimbus-dev-token-key';
let stub: SecretsStub;
let client: SecretsManagerClient;

beforeAll(async () => {
  stub = await startSecretsStub(new Map([[ARN, 'a'.repeat(64)]]));
  client = new SecretsManagerClient({ region: 'us-east-1', endpoint: stub.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
});
afterAll(async () => {
  client?.destroy();
  await stub?.close();
});

it('answers GetSecretValue for AWSCURRENT, and like a never-rotated secret for AWSPREVIOUS', async () => {
  expect((await client.send(new GetSecretValueCommand({ SecretId: ARN }))).SecretString).toBe('a'.repeat(64));
  expect((await client.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSCURRENT' }))).SecretString).toBe('a'.repeat(64));
  await expect(client.send(new GetSecretValueCommand({ SecretId: ARN, VersionStage: 'AWSPREVIOUS' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  await expect(client.send(new GetSecretValueCommand({ SecretId: `${ARN}-other` }))).rejects.toBeInstanceOf(ResourceNotFoundException);
});

it('gives the token auth a key set of one signing key, as a fresh stack\'s secret does', async () => {
  expect((await loadKeySetFromSecret(client, ARN)).kids).toHaveLength(1);
});

it('keeps secrets the registry writes at run time through the vault, and across a restart when given a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-secrets-'));
  const start = async () => {
    const persisted = await startSecretsStub(new Map(), { persistTo: join(dir, 'secrets.json') });
    const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: persisted.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    return { persisted, sm, vault: new SecretsManagerVault(sm, 'nimbus/dev') };
  };
  try {
    const first = await start();
    expect(await first.vault.get('webhook/a')).toBeUndefined();
    await first.vault.put('webhook/a', 'one');
    await first.vault.put('webhook/a', 'two');
    await first.vault.put('cache/b', 'three');
    await first.vault.delete('cache/b');
    await first.vault.delete('cache/never');
    expect(await first.vault.get('webhook/a')).toBe('two');
    first.sm.destroy();
    await first.persisted.close();

    const second = await start();
    expect(await second.vault.get('webhook/a')).toBe('two');
    expect(await second.vault.get('cache/b')).toBeUndefined();
    second.sm.destroy();
    await second.persisted.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
