import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIdentityStore } from '../functions/adapters/aws/dynamo-identity-store';
import type { IdentityStore } from '../functions/auth/identity-store';
import { hashSecret } from '../functions/auth/secret-hash';

export interface AdminCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * A user with pull, push and delete everywhere, written straight into an identity store
 * (the registry reads users and grants from its store on every login).
 */
export async function addAdminUser(store: IdentityStore, prefix: string): Promise<AdminCredentials> {
  const credentials = { username: `${prefix}-${randomBytes(3).toString('hex')}`, password: randomBytes(18).toString('base64url') };
  await store.createPrincipal({
    name: credentials.username, kind: 'user', secretHash: await hashSecret(credentials.password),
    generation: randomUUID(), createdAt: new Date().toISOString(),
  });
  await store.setGrants(credentials.username, [{ pattern: '**', actions: ['pull', 'push', 'delete'] }]);
  return credentials;
}

/** The same in a registry table on DynamoDB Local (auth is always on in dev:aws, as when deployed). */
export async function createAdminUser(options: { region: string; endpoint: string; table: string; prefix: string }): Promise<AdminCredentials> {
  const client = new DynamoDBClient({ region: options.region, endpoint: options.endpoint, credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } });
  try {
    return await addAdminUser(new DynamoIdentityStore(DynamoDBDocumentClient.from(client), options.table), options.prefix);
  } finally {
    client.destroy();
  }
}
