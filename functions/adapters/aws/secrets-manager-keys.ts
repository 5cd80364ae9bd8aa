import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KeySet } from '../../auth/keyset';

/**
 * The token key set of a deployed stack, from a Secrets Manager secret the stack generates
 * (a random string, like the upload key). AWSCURRENT signs; AWSPREVIOUS, when the secret was
 * rotated, still verifies the tokens signed before the rotation.
 */
export async function loadKeySetFromSecret(client: SecretsManagerClient, secretId: string): Promise<KeySet> {
  const current = await readVersion(client, secretId, 'AWSCURRENT');
  if (!current) throw new Error(`secret ${secretId} has no current value`);
  const previous = await readVersion(client, secretId, 'AWSPREVIOUS');
  return KeySet.fromSeeds(previous && previous.byteLength >= 32 ? [current, previous] : [current]);
}

async function readVersion(client: SecretsManagerClient, secretId: string, stage: string): Promise<Uint8Array | undefined> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    return SecretString ? new TextEncoder().encode(SecretString) : undefined;
  } catch (error) {
    // A secret that was never rotated has no AWSPREVIOUS version.
    if (stage !== 'AWSCURRENT' && (error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}
