import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BUCKET_PREFIXES } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/lambda/env';
import { bundledFunction } from './bundled-function';
import { acknowledge, logicalIdOf } from './nag';

export interface VerifierFunctionProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /**
   * Memory in MB; Lambda gives a full vCPU at 1769 MB, and hashing is CPU-bound.
   * @default 1769
   */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Verifies direct uploads in the background: invoked asynchronously by the registry
 * function, it streams the assembled object through SHA-256 (about 15 minutes covers
 * tens of GB) and only then records the blob. It may read and delete objects under
 * blobs/ and write table items, nothing else.
 */
export class VerifierFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: VerifierFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus direct-upload verifier: reads and deletes blob objects, writes blob records',
    });
    this.function = bundledFunction(this, 'Handler', {
      entry: 'functions/lambda/verifier.ts',
      role,
      logGroup,
      memorySize: props.memorySize ?? 1769,
      timeout: Duration.minutes(15),
      environment: {
        [LAMBDA_ENV.table]: props.table.tableName,
        [LAMBDA_ENV.bucket]: props.bucket.bucketName,
        POWERTOOLS_SERVICE_NAME: 'nimbus-verifier',
      },
    });
    const blobObjects = props.bucket.arnForObjects(`${BUCKET_PREFIXES.blobs}*`);
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'AssembledBlobs',
      // Read to hash; delete when the bytes do not match their promised digest.
      actions: ['s3:GetObject', 's3:DeleteObject'],
      resources: [blobObjects],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'BlobRecords',
      // The upload session, the blob record (create-if-absent), the repository link and catalog entry.
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      resources: [props.table.tableArn],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'OwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.bucket)}.Arn>/${BUCKET_PREFIXES.blobs}*]`,
      'Object keys under blobs/ are upload ids created at run time; access is limited to that prefix of this one bucket.');
  }

  /** Lets `fn` hand tasks to the verifier: invoking this one function (unqualified ARN), nothing else. */
  grantEnqueue(fn: lambda.Function): void {
    fn.addEnvironment(LAMBDA_ENV.verifierFunction, this.function.functionName);
    // Not grantInvoke(): it also allows every version and alias (<arn>:*), which nothing needs.
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'EnqueueVerification', actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));
  }
}
