import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The core refuses shorter HMAC keys. */
const MIN_KEY_BYTES = 32;

/**
 * The upload-URL HMAC key from Secrets Manager: the secret's string, as UTF-8 bytes.
 * Read once per cold start; the stack generates it, so it never sits in the template or
 * the function's environment.
 */
export async function loadUploadSecret(client: SecretsManagerClient, secretArn: string): Promise<Uint8Array> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const key = new TextEncoder().encode(SecretString ?? '');
  if (key.byteLength < MIN_KEY_BYTES) {
    throw new Error(`secret ${secretArn} holds ${key.byteLength} bytes; the upload key needs at least ${MIN_KEY_BYTES}`);
  }
  return key;
}
