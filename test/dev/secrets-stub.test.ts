import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
