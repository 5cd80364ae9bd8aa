import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CacheDeps } from '../core/index';
import { DynamoCacheMarks, DynamoFillLeases, VaultCacheSecrets } from '../adapters/aws/cache-stores';
import { SecretsManagerVault } from '../adapters/aws/secret-vault';
import { nodeUpstreamHttp } from '../adapters/node/upstream-http';
import type { LambdaSettings } from './settings';

/**
 * How long a fill's lease lasts: longer than the invocation that holds it may run (29 s), so it
 * is never taken over while its holder still fills; a crashed holder blocks the blob this long.
 */
const FILL_LEASE_SECONDS = 60;
/** How long a request waits for another instance's fill: it must answer before API Gateway's 30 s. */
const FILL_WAIT_SECONDS = 20;
/**
 * How long a function container trusts the cache rules it read: every manifest GET, upload start
 * and manifest PUT asks them. A rule changed through another container (or `nimbus --table`)
 * takes effect here within this long; through this one, at once.
 */
const RULES_CACHE_SECONDS = 10;

/**
 * The pull-through cache on Lambda (README "Pull-through cache"): upstream credentials in Secrets
 * Manager under the stack's prefix, root-mirror marks and fill leases in the table, so one blob
 * is filled once across every function instance. Blobs cannot stream through API Gateway (10 MB,
 * 30 s): with an upload endpoint, a blob miss is redirected there (functions/upload-server/
 * cache-fills.ts); without one, the function fills it and answers once it is in S3, with the
 * usual redirect, so it is limited to what one invocation can move (maxFillBytes).
 */
export function awsCacheDeps(
  settings: NonNullable<LambdaSettings['cache']>, dynamodb: DynamoDBDocumentClient, table: string, secrets: SecretsManagerClient, fillOrigin: string | undefined,
): CacheDeps {
  return {
    http: nodeUpstreamHttp(),
    secrets: new VaultCacheSecrets(new SecretsManagerVault(secrets, settings.secretPrefix)),
    marks: new DynamoCacheMarks(dynamodb, table),
    tagRecheckSeconds: settings.recheckMinutes * 60,
    blobFills: 'store-first',
    maxBlobFillBytes: settings.maxFillBytes,
    fillLeases: new DynamoFillLeases(dynamodb, table),
    fillLeaseSeconds: FILL_LEASE_SECONDS,
    fillWaitSeconds: FILL_WAIT_SECONDS,
    rulesCacheSeconds: RULES_CACHE_SECONDS,
    // With an upload endpoint, blob fills go there (any size, streamed); without, they run here.
    ...(fillOrigin ? { fillOrigin } : {}),
  };
}
