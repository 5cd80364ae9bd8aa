import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { BUCKET_PREFIXES, lifecycleRules } from '../../functions/adapters/aws/table-schema';
import { acknowledge } from './nag';

/** How long an idle upload session is kept when nothing else is said: one day. */
export const DEFAULT_UPLOAD_SESSION_TTL_SECONDS = 86_400;

/** How long a deleted or overwritten object stays recoverable when nothing else is said. */
export const DEFAULT_NONCURRENT_VERSION_DAYS = 30;

/** Replaced staged tails are garbage the moment the next request folds them into a part. */
const STAGED_TAIL_NONCURRENT_DAYS = 1;

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
  /**
   * Seconds an idle upload session lives (the same value the function and the upload
   * endpoint get): the multipart-abort and staged-tail rules are derived from it so they never
   * remove the parts of a live session (table-schema.ts, lifecycleRules).
   * @default DEFAULT_UPLOAD_SESSION_TTL_SECONDS (86,400: one day)
   */
  readonly uploadSessionTtlSeconds?: number;
  /**
   * Days a deleted or overwritten object (blob, manifest body) stays recoverable as a
   * noncurrent version before S3 removes it for good. No role of the stack may delete a
   * version (s3:DeleteObjectVersion), so a mistaken or malicious delete only adds a delete
   * marker, undone by deleting the marker. @default DEFAULT_NONCURRENT_VERSION_DAYS (30)
   */
  readonly noncurrentVersionDays?: number;
}

/**
 * The blob bucket: private, TLS-only, encrypted at rest, versioned. Clients reach blobs only
 * through short-lived presigned URLs the registry hands out, never through a public policy.
 */
export class BlobBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket | undefined;
  /** Days after which S3 aborts an unfinished multipart upload (and expires a staged tail). */
  readonly abandonedUploadDays: number;

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

    const noncurrentDays = props.noncurrentVersionDays ?? DEFAULT_NONCURRENT_VERSION_DAYS;
    if (!Number.isInteger(noncurrentDays) || noncurrentDays < 1) throw new Error(`noncurrentVersionDays must be a whole number of days ≥ 1, not ${noncurrentDays}`);
    const [abortRule, stagingRule] = lifecycleRules(props.uploadSessionTtlSeconds ?? DEFAULT_UPLOAD_SESSION_TTL_SECONDS);
    this.abandonedUploadDays = abortRule.abortIncompleteMultipartUploadAfterDays;

    this.bucket = new s3.Bucket(this, 'Blobs', {
      ...secure,
      versioned: true,
      ...(this.accessLogBucket ? { serverAccessLogsBucket: this.accessLogBucket, serverAccessLogsPrefix: 'blobs/' } : {}),
      lifecycleRules: [
        // Parts of an abandoned upload are billed until aborted. Versioning does not apply to
        // them: an incomplete multipart upload is not an object version until it completes.
        { id: abortRule.id, prefix: abortRule.prefix, abortIncompleteMultipartUploadAfter: Duration.days(abortRule.abortIncompleteMultipartUploadAfterDays) },
        // Each upload request replaces its staged tail: in a versioned bucket every replaced
        // or expired tail would linger as a noncurrent version, so those go after a day.
        {
          id: stagingRule.id,
          prefix: stagingRule.prefix,
          expiration: Duration.days(stagingRule.expirationDays),
          noncurrentVersionExpiration: Duration.days(STAGED_TAIL_NONCURRENT_DAYS),
        },
        // Everything else deleted or overwritten stays recoverable for noncurrentDays; the delete
        // markers left once their versions are gone are removed too, so they do not pile up.
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(noncurrentDays), expiredObjectDeleteMarker: true },
      ],
    });
    if (!this.accessLogBucket) {
      acknowledge(this.bucket, 'AwsSolutions-S1', 'Server access logs were turned off by the deployer (serverAccessLogs: false); API Gateway access logs still record every request, including each redirect to a blob.');
    }
  }
}

/** Object key patterns of the bucket's prefixes, for IAM resources (`<bucket arn>/<prefix>*`). */
export function prefixObjects(bucket: s3.IBucket, ...prefixes: Array<keyof typeof BUCKET_PREFIXES>): string[] {
  return prefixes.map((prefix) => bucket.arnForObjects(`${BUCKET_PREFIXES[prefix]}*`));
}
