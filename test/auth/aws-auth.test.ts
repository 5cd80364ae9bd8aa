import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsClients, type AwsClients } from '../../functions/adapters/aws/clients';
import { createAwsTokenAuthorizer } from '../../functions/lambda/aws-auth';
import { DynamoAttemptCounter, DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { KeySet } from '../../functions/auth/keyset';
import { loadKeySetFromSecret } from '../../functions/adapters/aws/secrets-manager-keys';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { authHarness, basic, bearer, getToken, pushImage, tokenFor, type AuthHarness } from './harness';

describe('signing keys from Secrets Manager', () => {
  // A mock per test: another describe's restore() must not leave these tests on the real client.
  const mockSecrets = () => mockClient(SecretsManagerClient);
  let secrets: ReturnType<typeof mockSecrets>;
  beforeEach(() => {
    secrets = mockSecrets();
  });
  afterEach(() => secrets.restore());
  const current = 'c'.repeat(64);
  const previous = 'p'.repeat(64);

  it('signs with AWSCURRENT and still verifies AWSPREVIOUS', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:key', VersionStage: 'AWSCURRENT' }).resolves({ SecretString: current });
    secrets.on(GetSecretValueCommand, { SecretId: 'arn:key', VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: previous });
    const keys = await loadKeySetFromSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:key');
    const enc = new TextEncoder();
    expect(keys.signing.kid).toBe((await KeySet.fromSeeds([enc.encode(current)])).signing.kid);
    expect(keys.kids).toContain((await KeySet.fromSeeds([enc.encode(previous)])).signing.kid);
  });

  it('works with a secret that was never rotated', async () => {
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: current });
    secrets.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(Object.assign(new Error('no such version'), { name: 'ResourceNotFoundException' }));
    const keys = await loadKeySetFromSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'arn:key');
    expect(keys.kids).toHaveLength(1);
  });
});

describe('token auth on DynamoDB (the Lambda path)', () => {
  let emulators: AwsEmulators;
  let h: AuthHarness;
  let table: string;
  let dynamodb: AwsClients['dynamodb'];
  beforeAll(async () => {
    emulators = await startAwsEmulators();
    ({ table } = await emulators.createResources());
    ({ dynamodb } = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true }));
    h = await authHarness({ store: new DynamoIdentityStore(dynamodb, table), attempts: new DynamoAttemptCounter(dynamodb, table) });
    await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'] });
  });
  afterAll(async () => {
    await h?.close();
    await emulators?.stop();
  });

  it('logs in, pushes where granted and is DENIED elsewhere', async () => {
    const token = await tokenFor(h, ['repository:alice/app:pull,push', 'repository:bob/app:pull,push'], basic('alice', 'alice-password'));
    expect(await pushImage(h, 'alice/app', bearer(token))).toBe(201);
    expect(await pushImage(h, 'bob/app', bearer(token))).toBe(403);
  });

  it('is wired by createAwsTokenAuthorizer: table identities, key from the secret', async () => {
    const secrets = mockClient(SecretsManagerClient);
    try {
      const seed = 's'.repeat(64);
      secrets.on(GetSecretValueCommand, { VersionStage: 'AWSCURRENT' }).resolves({ SecretString: seed });
      secrets.on(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' }).rejects(Object.assign(new Error('none'), { name: 'ResourceNotFoundException' }));
      const authorizer = await createAwsTokenAuthorizer({
        dynamodb, table, secrets: new SecretsManagerClient({ region: 'us-east-1' }), signingSecretId: 'arn:key', service: 'nimbus-test', publicUrl: 'https://registry.example',
      });
      const response = await authorizer.handle!(new Request('https://registry.example/token?scope=repository:alice/app:pull', {
        headers: { authorization: basic('alice', 'alice-password') },
      }));
      expect(response?.status).toBe(200);
      const { token, scope } = (await response!.json()) as { token: string; scope: string };
      expect(scope).toBe('repository:alice/app:pull');
      const kid = (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
      expect(kid).toBe((await KeySet.fromSeeds([new TextEncoder().encode(seed)])).signing.kid);
    } finally {
      secrets.restore();
    }
  });

  it('rejects a replayed refresh token after the user is removed', async () => {
    // Its own user: removing alice would break the other tests in whatever order they run.
    await h.addUser('carol', 'carol-password', { 'carol/*': ['pull'] });
    const login = (await (await getToken(h, [], basic('carol', 'carol-password'), { offline_token: 'true' })).json()) as { refresh_token: string };
    const refresh = () => h.fetch('/token', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: login.refresh_token }).toString(),
    });
    expect((await refresh()).status).toBe(200);
    await h.store.deletePrincipal('carol');
    expect((await refresh()).status).toBe(401);
  });
});
