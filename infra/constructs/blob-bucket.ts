import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { LIFECYCLE_RULES } from '../../functions/adapters/aws/table-schema';
import { acknowledge } from './nag';

export interface BlobBucketProps {
  /**
   * What happens to stored blobs when the stack is deleted. DESTROY only succeeds on an
   * empty bucket. @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Write S3 server access logs (every presigned blob download) to a second bucket.
   * @default true
   */
  readonly serverAccessLogs?: boolean;
  /** Days server access logs are kept. @default 90 */
  readonly accessLogRetentionDays?: number;
}

/**
 * The blob bucket: private, TLS-only, encrypted at rest. Clients reach blobs only through
 * short-lived presigned URLs the registry hands out, never through a public policy.
 */
export class BlobBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket | undefined;

  constructor(scope: Construct, id: string, props: BlobBucketProps = {}) {
    super(scope, id);
    // Grant S3 log delivery through a bucket policy, not ACLs, so both buckets keep ACLs off.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const secure = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    } satisfies s3.BucketProps;

    if (props.serverAccessLogs ?? true) {
      this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
        ...secure,
        lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays ?? 90) }],
      });
    }

    this.bucket = new s3.Bucket(this, 'Blobs', {
      ...secure,
      ...(this.accessLogBucket ? { serverAccessLogsBucket: this.accessLogBucket, serverAccessLogsPrefix: 'blobs/' } : {}),
      // The rules the adapters' key layout needs, from their own schema module: abandoned
      // multipart uploads (billed until aborted) and staged upload tails.
      lifecycleRules: LIFECYCLE_RULES.map((rule) => ('expirationDays' in rule
        ? { id: rule.id, prefix: rule.prefix, expiration: Duration.days(rule.expirationDays) }
        : { id: rule.id, prefix: rule.prefix, abortIncompleteMultipartUploadAfter: Duration.days(rule.abortIncompleteMultipartUploadAfterDays) })),
    });
    if (!this.accessLogBucket) {
      acknowledge(this.bucket, 'AwsSolutions-S1', 'Server access logs were turned off by the deployer (serverAccessLogs: false); API Gateway access logs still record every request, including each redirect to a blob.');
    }
  }
}
