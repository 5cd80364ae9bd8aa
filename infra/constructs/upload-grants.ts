import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { BUCKET_PREFIXES, PARTITION_KEY } from '../../functions/adapters/aws/table-schema';
import { prefixObjects } from './blob-bucket';
import { cacheFillEnvironment, grantCacheFills } from './cache-secrets';
import { acknowledge, logicalIdOf } from './nag';

/**
 * Partition keys of the items the upload paths and the direct-upload verifier write
 * (data-layout.ts): upload sessions, blob records with their repository links, and the catalog
 * entry a repository gets when its first blob is linked. Users, grants, federations and login
 * counters (AUTH#…, dynamo-identity-store.ts), manifests and tags match none of them.
 */
export const UPLOAD_SESSION_PARTITIONS = [itemKeys.upload('*')[PARTITION_KEY]];
export const BLOB_PARTITIONS = [itemKeys.blob('*')[PARTITION_KEY], itemKeys.catalogPartition];
/** The shards of the garbage-collection review queue (gc-reviews.ts). */
export const GC_REVIEW_PARTITIONS = [itemKeys.gcReviewPartition('*')];

/**
 * `dynamodb:LeadingKeys` holds the partition key of every item a request names. With
 * ForAllValues, each of them must match one of the patterns; the granted actions always name
 * their item's key, so the condition is never vacuously true.
 */
function leadingKeys(patterns: string[]): Record<string, unknown> {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns } };
}

/**
 * Item-level access of the code that takes upload bytes (upload endpoint, verifier): single
 * items of the upload-session, blob and catalog partitions. No Query or Scan, no batch, no
 * transaction, and no delete outside upload sessions, so a compromised upload task cannot
 * read or write a user, a grant or a manifest, nor make itself an admin.
 */
export function uploadItemStatements(table: dynamodb.ITable): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'UploadSessionItems',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [table.tableArn],
      conditions: leadingKeys(UPLOAD_SESSION_PARTITIONS),
    }),
    new iam.PolicyStatement({
      sid: 'BlobItems',
      // Blob records are created if absent, links and catalog entries put or updated; never deleted here.
      // Linking checks in a transaction that a collected blob's tombstone is absent (ConditionCheckItem).
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      resources: [table.tableArn],
      conditions: leadingKeys(BLOB_PARTITIONS),
    }),
    new iam.PolicyStatement({
      sid: 'GcReviewItems',
      // A new blob record queues its garbage-collection review in the same transaction; only adding.
      actions: ['dynamodb:PutItem'],
      resources: [table.tableArn],
      conditions: leadingKeys(GC_REVIEW_PARTITIONS),
    }),
  ];
}

export interface UploadDataProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly uploadSecret: secretsmanager.ISecret;
}

/**
 * Everything a process that serves upload sessions may touch (the Fargate task, the web
 * function): objects under blobs/ and staging/, listing staging/, the upload items above, and
 * the key that signs upload capabilities.
 */
export function grantUploadData(role: iam.IRole & IConstruct, props: UploadDataProps): void {
  const { bucket, table, uploadSecret } = props;
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'UploadObjects',
    // PutObject covers multipart create, upload-part and complete; GetObject reads staged tails back.
    actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
    resources: prefixObjects(bucket, 'blobs', 'staging'),
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'StagedTailListing',
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${BUCKET_PREFIXES.staging}*`] } },
  }));
  for (const statement of uploadItemStatements(table)) role.addToPrincipalPolicy(statement);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'UploadKey', actions: ['secretsmanager:GetSecretValue'], resources: [uploadSecret.secretArn] }));
  // Pull-through cache blob fills, which the registry function redirects here.
  grantCacheFills(role, table);
  for (const prefix of [BUCKET_PREFIXES.blobs, BUCKET_PREFIXES.staging]) {
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${prefix}*]`,
      'Blob and staged-tail object keys are created per upload at run time, so object actions are granted on the blobs/ and staging/ prefixes of this one bucket; no other prefix, bucket or bucket administration.');
  }
}

/**
 * The settings every upload endpoint kind (Fargate task, web function) starts the upload
 * server with (functions/upload-server/settings.ts), so the two kinds cannot drift apart.
 */
export function uploadServerEnvironment(props: {
  table: dynamodb.ITable; bucket: s3.IBucket; uploadSecret: secretsmanager.ISecret; uploadSessionTtlSeconds: number; partSizeMiB?: number;
}): Record<string, string> {
  return {
    [LAMBDA_ENV.table]: props.table.tableName,
    [LAMBDA_ENV.bucket]: props.bucket.bucketName,
    [LAMBDA_ENV.uploadSecretArn]: props.uploadSecret.secretArn,
    [LAMBDA_ENV.uploadSessionTtlSeconds]: String(props.uploadSessionTtlSeconds),
    NIMBUS_PART_SIZE_MIB: String(props.partSizeMiB ?? 16),
    ...cacheFillEnvironment(props.table),
  };
}
