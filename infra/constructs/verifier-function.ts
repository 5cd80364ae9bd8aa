import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUCKET_PREFIXES } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { prefixObjects } from './blob-bucket';
import { bundledFunction } from './bundled-function';
import { acknowledge, logicalIdOf } from './nag';
import { uploadItemStatements } from './upload-grants';

/** Attempts after the first before a verification task goes to the dead-letter queue (Lambda's maximum). */
const VERIFY_RETRIES = 2;

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
 * blobs/ and write upload-session and blob items, nothing else. A task that fails every
 * attempt lands in an encrypted dead-letter queue, and an alarm goes off.
 */
export class VerifierFunction extends Construct {
  readonly function: lambda.Function;
  /** Verification tasks that failed every attempt (the invocation event and its error), kept 14 days. */
  readonly deadLetterQueue: sqs.Queue;
  /** In alarm while the dead-letter queue holds a task. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** In alarm when an attempt failed within the last 5 minutes (it may still succeed on a retry). */
  readonly errorAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: VerifierFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus direct-upload verifier: reads and deletes blob objects, writes upload-session and blob items',
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
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'AssembledBlobs',
      // Read to hash; delete when the bytes do not match their promised digest.
      actions: ['s3:GetObject', 's3:DeleteObject'],
      resources: prefixObjects(props.bucket, 'blobs'),
    }));
    // The upload session (state), the blob record (create-if-absent), the repository link and catalog entry.
    for (const statement of uploadItemStatements(props.table)) role.addToPolicy(statement);
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'OwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(props.bucket)}.Arn>/${BUCKET_PREFIXES.blobs}*]`,
      'Object keys under blobs/ are upload ids created at run time; access is limited to that prefix of this one bucket.');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.deadLetterQueue, 'AwsSolutions-SQS3',
      'This queue is itself the dead-letter destination of the verifier\'s asynchronous invocations (an on-failure destination, which cdk-nag does not recognise as a DLQ); nothing consumes it automatically, so it needs no DLQ of its own.');
    this.function.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      retryAttempts: VERIFY_RETRIES,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Nimbus: a direct-upload verification failed every attempt; its task is in the verifier\'s dead-letter queue',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorAlarm = new cloudwatch.Alarm(this, 'ErrorAlarm', {
      alarmDescription: 'Nimbus: the direct-upload verifier failed (it retries twice before dead-lettering the task)',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /** Lets `fn` hand tasks to the verifier: invoking this one function (unqualified ARN), nothing else. */
  grantEnqueue(fn: lambda.Function): void {
    fn.addEnvironment(LAMBDA_ENV.verifierFunction, this.function.functionName);
    // Not grantInvoke(): it also allows every version and alias (<arn>:*), which nothing needs.
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'EnqueueVerification', actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));
  }
}
