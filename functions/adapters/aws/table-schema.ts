/**
 * The shape of the DynamoDB table and S3 bucket the AWS adapters run on. The CDK stack
 * (infra/) and the test harness both build their resources from these constants, so
 * the adapters, the tests and the deployed infrastructure cannot drift apart.
 *
 * What each key holds, and which API call touches which item or object: data-layout.ts.
 * This module has no runtime dependencies, so the CDK app can import it cheaply.
 */

/** The table's primary key: two string attributes. */
export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

/**
 * DynamoDB TTL attribute (epoch seconds). Upload sessions and finished outbox entries carry it, so
 * only abandoned sessions and old delivery history expire; everything else lives until deleted.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The table has no secondary indexes: every lookup is a GetItem or a Query on the base
 * table, so every read can be strongly consistent. Kept as a list so infra code that
 * iterates over indexes stays correct if one is ever added.
 */
export const GLOBAL_SECONDARY_INDEXES: readonly {
  indexName: string;
  partitionKey: string;
  sortKey: string;
  projection: 'KEYS_ONLY' | 'ALL';
}[] = [];

/** On-demand capacity: registry traffic is bursty (a push is dozens of writes, then nothing). */
export const BILLING_MODE = 'PAY_PER_REQUEST' as const;

/** Key prefixes in the blob bucket. Every object the adapters write starts with one of these. */
export const BUCKET_PREFIXES = {
  /** Finished blobs, and the multipart uploads that become them (completed in place). */
  blobs: 'blobs/',
  /** Staged upload tails (< 5 MiB), read back by the next request of the same upload. */
  staging: 'staging/',
  /** Manifest bodies too large to keep inline in their DynamoDB item. */
  manifests: 'manifests/',
} as const;

/**
 * Lifecycle rules the bucket needs so abandoned uploads cost nothing in the long run, derived
 * from the upload-session TTL (idle seconds after which a session expires; every write extends
 * it). S3 counts both rules from an object's creation, not from its session's last write, so
 * the windows are the TTL rounded up to whole days plus UPLOAD_ACTIVE_DAYS: an upload whose
 * writes all fall within that many days of its start is never aborted while its session lives,
 * and a staged tail (rewritten by each request) never expires under a live session.
 * Finished blobs under blobs/ are never expired by lifecycle.
 */
export const UPLOAD_ACTIVE_DAYS = 2;

export function lifecycleRules(uploadSessionTtlSeconds: number) {
  const days = Math.ceil(uploadSessionTtlSeconds / 86_400) + UPLOAD_ACTIVE_DAYS;
  return [
    { id: 'abort-abandoned-blob-uploads', prefix: BUCKET_PREFIXES.blobs, abortIncompleteMultipartUploadAfterDays: days },
    { id: 'expire-staged-tails', prefix: BUCKET_PREFIXES.staging, expirationDays: days },
  ] as const;
}

/** The CreateTable request for this schema (tests and scripts; CDK uses the constants). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: BILLING_MODE,
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: 'S' as const },
      { AttributeName: SORT_KEY, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' as const },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' as const },
    ],
  };
}

/** The UpdateTimeToLive request that enables expiry of upload sessions. */
export function timeToLiveInput(tableName: string) {
  return { TableName: tableName, TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } };
}
