import {
  CreateSecretCommand, DeleteSecretCommand, GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { isAwsError, toStoreError } from './aws-errors';

/**
 * Secrets the registry writes at run time (webhook signing secrets, cache upstream credentials)
 * kept in Secrets Manager, one secret per entry under the stack's prefix (`<prefix>/<kind>/<id>`),
 * so IAM can scope every call to `secret:<prefix>/*` and nothing secret sits in the table.
 * Values are strings (callers keep JSON in them); they are never logged.
 */
export interface SecretVault {
  get(name: string): Promise<string | undefined>;
  put(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
}

export class SecretsManagerVault implements SecretVault {
  /** @param prefix the stack's secret name prefix, e.g. `nimbus/<stack>`; no trailing slash. */
  constructor(private readonly client: SecretsManagerClient, private readonly prefix: string) {}

  private id(name: string): string {
    return `${this.prefix}/${name}`;
  }

  async get(name: string): Promise<string | undefined> {
    try {
      const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: this.id(name) }));
      return SecretString;
    } catch (error) {
      if (isAwsError(error, 'ResourceNotFoundException')) return undefined;
      throw toStoreError(error, 'Secrets Manager GetSecretValue');
    }
  }

  /** Creates the secret, or gives an existing one a new current value. */
  async put(name: string, value: string): Promise<void> {
    try {
      await this.client.send(new CreateSecretCommand({ Name: this.id(name), SecretString: value }));
    } catch (error) {
      if (!isAwsError(error, 'ResourceExistsException')) throw toStoreError(error, 'Secrets Manager CreateSecret');
      try {
        await this.client.send(new PutSecretValueCommand({ SecretId: this.id(name), SecretString: value }));
      } catch (putError) {
        throw toStoreError(putError, 'Secrets Manager PutSecretValue');
      }
    }
  }

  /** Deletes at once (no recovery window): a removed webhook or rule must not keep its secret. */
  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteSecretCommand({ SecretId: this.id(name), ForceDeleteWithoutRecovery: true }));
    } catch (error) {
      if (!isAwsError(error, 'ResourceNotFoundException')) throw toStoreError(error, 'Secrets Manager DeleteSecret');
    }
  }
}

/** Secrets in memory: tests, and the dev stub's backing. */
export function memorySecretVault(): SecretVault & { readonly names: () => string[] } {
  const values = new Map<string, string>();
  return {
    get: async (name) => values.get(name),
    put: async (name, value) => void values.set(name, value),
    delete: async (name) => void values.delete(name),
    names: () => [...values.keys()],
  };
}
