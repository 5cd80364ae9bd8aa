import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAttemptCounter, DynamoIdentityStore } from '../adapters/aws/dynamo-identity-store';
import type { Authorizer } from '../core/access';
import type { Logger } from '../core/ports';
import { createTokenAuthorizer } from '../auth/authorizer';
import type { LoginLimits } from '../auth/login-throttle';
import { loadKeySetFromSecret } from '../adapters/aws/secrets-manager-keys';

export interface AwsTokenAuthOptions {
  dynamodb: DynamoDBDocumentClient;
  /** The registry's single table (users, grants and counters live beside the metadata). */
  table: string;
  secrets: SecretsManagerClient;
  /** The secret that seeds the token signing key. */
  signingSecretId: string;
  /** The registry's origin as clients reach it (custom domain or execute-api URL): the token realm's base. */
  publicUrl: string;
  /** @default "nimbus" */
  service?: string;
  accessTtlSeconds?: number;
  logger?: Logger;
  limits?: LoginLimits;
  /** The caller's address as the transport saw it (API Gateway's sourceIp). */
  clientAddress?: (request: Request) => string | undefined;
}

/**
 * Token auth on AWS, for the Lambda entry: identities in DynamoDB, the signing key from
 * Secrets Manager (read once per cold start), failed-login counts shared by all instances.
 * Auth is always on when deployed.
 */
export async function createAwsTokenAuthorizer(options: AwsTokenAuthOptions): Promise<Authorizer> {
  return createTokenAuthorizer({
    store: new DynamoIdentityStore(options.dynamodb, options.table),
    keys: await loadKeySetFromSecret(options.secrets, options.signingSecretId),
    // After a rotation, warm instances learn the new key from the first token signed with it.
    reloadKeys: () => loadKeySetFromSecret(options.secrets, options.signingSecretId),
    attempts: new DynamoAttemptCounter(options.dynamodb, options.table),
    publicUrl: options.publicUrl,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.service ? { service: options.service } : {}),
    ...(options.accessTtlSeconds ? { accessTtlSeconds: options.accessTtlSeconds } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clientAddress ? { clientAddress: options.clientAddress } : {}),
  });
}
