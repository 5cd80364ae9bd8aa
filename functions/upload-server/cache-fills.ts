import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CacheDeps } from '../core/index';
import { DynamoFillLeases, VaultCacheSecrets } from '../adapters/aws/cache-stores';
import { SecretsManagerVault } from '../adapters/aws/secret-vault';
import { nodeUpstreamHttp } from '../adapters/node/upstream-http';

/** A fill's lease: longer than a large layer takes to arrive; a crashed task blocks the blob this long. */
const FILL_LEASE_SECONDS = 15 * 60;
/** How long a requester waits for a fill another task runs before a retryable 503. */
const FILL_WAIT_SECONDS = 10 * 60;

/**
 * Pull-through cache fills on the upload endpoint (README "Pull-through cache"): the registry
 * function answers a blob miss with a 307 here; the upstream's bytes stream to the requester while
 * they go to S3 multipart parts, with no size or time limit but the endpoint's own. One fill per
 * blob across tasks and instances through the table's lease items; others get the stored copy.
 */
export function endpointCacheDeps(secretPrefix: string, dynamodb: DynamoDBDocumentClient, table: string, secrets: SecretsManagerClient): CacheDeps {
  return {
    http: nodeUpstreamHttp(),
    secrets: new VaultCacheSecrets(new SecretsManagerVault(secrets, secretPrefix)),
    blobFills: 'stream',
    fillLeases: new DynamoFillLeases(dynamodb, table),
    fillLeaseSeconds: FILL_LEASE_SECONDS,
    fillWaitSeconds: FILL_WAIT_SECONDS,
  };
}
