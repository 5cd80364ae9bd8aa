import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { API_GATEWAY_TIMEOUT_MS } from '../../functions/adapters/apigw/limits';
import { BUCKET_PREFIXES } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { prefixObjects } from './blob-bucket';
import { bundledFunction } from './bundled-function';
import { acknowledge, logicalIdOf } from './nag';

export interface RegistryFunctionProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /** Global secondary indexes the function queries; each is granted by name, not by wildcard. */
  readonly indexNames: readonly string[];
  readonly uploadSecret: secretsmanager.ISecret;
  /** Seed of the token signing key (token auth is always on). */
  readonly tokenSecret: secretsmanager.ISecret;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 300 */
  readonly blobRedirectSeconds?: number;
  /** Log level of the function (Powertools). @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Seconds an idle upload session lives (the bucket's lifecycle rules are derived from it). */
  readonly uploadSessionTtlSeconds: number;
}

/**
 * The registry's Lambda function: the real handler bundled by esbuild from this checkout
 * (no Docker), on nodejs22.x arm64, with its own log group and a role that can reach its
 * bucket, table and secrets and nothing else.
 */
export class RegistryFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RegistryFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus registry function: its bucket, table, secrets and log group only',
    });

    this.function = bundledFunction(this, 'Handler', {
      entry: 'functions/lambda/registry.ts',
      role,
      logGroup: this.logGroup,
      memorySize: props.memorySize ?? 1024,
      // API Gateway stops waiting at 30 s; work past that is paid for and never seen.
      timeout: Duration.millis(API_GATEWAY_TIMEOUT_MS - 1000),
      environment: {
        [LAMBDA_ENV.table]: props.table.tableName,
        [LAMBDA_ENV.bucket]: props.bucket.bucketName,
        [LAMBDA_ENV.uploadSecretArn]: props.uploadSecret.secretArn,
        [LAMBDA_ENV.tokenSecretArn]: props.tokenSecret.secretArn,
        [LAMBDA_ENV.blobRedirectSeconds]: String(props.blobRedirectSeconds ?? 300),
        [LAMBDA_ENV.uploadSessionTtlSeconds]: String(props.uploadSessionTtlSeconds),
        POWERTOOLS_SERVICE_NAME: 'nimbus-registry',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
    });
    this.grant(role, props);
  }

  private grant(role: iam.Role, props: RegistryFunctionProps): void {
    const { bucket, table, uploadSecret, tokenSecret } = props;
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'BlobObjects',
      // PutObject covers multipart create, upload-part and complete; GetObject covers HEAD and presigned URLs.
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: prefixObjects(bucket, 'blobs', 'staging', 'manifests'),
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'BlobListing',
      // Listing a cancelled upload's staged tails; it also makes HEAD on a missing key a 404, not a 403.
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'MetadataItems',
      // Transactions need the per-item actions they contain; BatchGetItem checks a manifest's references
      // 100 keys a call. No Scan, no batch writes, no table management.
      actions: [
        'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem', 'dynamodb:Query',
      ],
      resources: [table.tableArn],
    }));
    const indexArns = props.indexNames.map((name) => `${table.tableArn}/index/${name}`);
    if (indexArns.length) {
      role.addToPolicy(new iam.PolicyStatement({ sid: 'MetadataIndexes', actions: ['dynamodb:Query'], resources: indexArns }));
    }
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'UploadKey',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [uploadSecret.secretArn],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'TokenKey',
      // Users, grants and failed-login counters are items in the table, covered by MetadataItems.
      actions: ['secretsmanager:GetSecretValue'],
      resources: [tokenSecret.secretArn],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'OwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    }));

    // The finding id names the reference as cdk-nag flattens it: Resource::<LogicalId.Arn>/<prefix>*.
    for (const prefix of Object.values(BUCKET_PREFIXES)) {
      acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${prefix}*]`,
        'Object keys (blobs/<upload id>, staging/<upload id>/…, manifests/<repository>/…) are created at run time, so object actions are granted on the three prefixes the adapters write; no other prefix or bucket, no bucket administration.');
    }
  }
}
