import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { BUCKET_PREFIXES, PARTITION_KEY } from '../../functions/adapters/aws/table-schema';
import { prefixObjects } from './blob-bucket';
import { bundledFunction } from './bundled-function';
import { acknowledge, logicalIdOf } from './nag';
import { deadLetterAlarm, deadLetterQueue, functionSchedule } from './scheduled-function';

/**
 * The partitions garbage collection reads and writes (data-layout.ts): blob records, links,
 * references and tombstones; the review queue; upload sessions (expired ones); and, to delete
 * the referrers of deleted subjects, manifests, tags and referrer entries. Not the catalog,
 * and not users, grants or federations (AUTH#…).
 */
export const GC_PARTITIONS = [
  itemKeys.blob('*')[PARTITION_KEY], itemKeys.gcReviewPartition('*'), itemKeys.upload('*')[PARTITION_KEY],
  itemKeys.repositoryPartition('*'), itemKeys.tagsPartition('*'), itemKeys.referrersPartition('*', '*'),
];
/** Invocations one pass may chain to go on past the 15-minute limit. */
export const GC_MAX_CHAIN = 8;

export interface GcFunctionProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /**
   * When garbage collection runs (EventBridge Scheduler). Each run is an incremental pass over
   * the review queue; a pass that outlasts one invocation resumes in the next.
   * @default scheduler.ScheduleExpression.rate(Duration.days(1))
   */
  readonly gcSchedule?: scheduler.ScheduleExpression;
  /** The safety window: only blobs unreferenced and untouched for this long are deleted. @default Duration.hours(24) */
  readonly gcMinAge?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Each scheduled invocation runs retention (the retention document and the cache rules'
   * lifecycles) before its pass; chained invocations do not. Off: no retention, and no grant for it.
   * @default true
   */
  readonly retentionOnSchedule?: boolean;
}

/**
 * Online garbage collection on a schedule: a Lambda runs a pass (functions/lambda/gc.ts),
 * stops a minute before its 15 minutes run out, and invokes itself to resume. Invocations that
 * fail every attempt (scheduled or chained) land in an encrypted dead-letter queue, with an alarm.
 */
export class GcFunction extends Construct {
  readonly function: lambda.Function;
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: GcFunctionProps) {
    super(scope, id);
    const { bucket, table } = props;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus garbage collector: deletes unreferenced blobs, abandoned uploads and orphaned objects',
    });
    this.function = bundledFunction(this, 'Handler', {
      entry: 'functions/lambda/gc.ts', role, logGroup, memorySize: 1024, timeout: Duration.minutes(15),
      environment: {
        [LAMBDA_ENV.table]: table.tableName,
        [LAMBDA_ENV.bucket]: bucket.bucketName,
        [LAMBDA_ENV.gcMinAgeMs]: String((props.gcMinAge ?? Duration.hours(24)).toMilliseconds()),
        [LAMBDA_ENV.gcMaxChain]: String(GC_MAX_CHAIN),
        POWERTOOLS_SERVICE_NAME: 'nimbus-gc',
      },
    });
    grantCollection(role, bucket, table);
    grantEventRecording(role, table);
    const retentionOnSchedule = props.retentionOnSchedule ?? true;
    if (retentionOnSchedule) grantRetention(role, table);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    // A separate policy, which the function does not depend on: invoking itself would otherwise be a cycle.
    new iam.Policy(this, 'Resume', {
      roles: [role],
      statements: [new iam.PolicyStatement({ sid: 'ResumePass', actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] })],
    });
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${BUCKET_PREFIXES.blobs}*]`,
      'Object keys under blobs/ are upload ids created at run time; access is limited to that prefix of this one bucket.');
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${BUCKET_PREFIXES.staging}*]`,
      'Staged tails of abandoned uploads are keyed by upload ids created at run time; access is limited to that prefix.');
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/${BUCKET_PREFIXES.manifests}*]`,
      'Bodies of deleted referrer manifests are keyed by repository and digest; access is limited to that prefix.');

    this.deadLetterQueue = deadLetterQueue(this, 'the collector\'s scheduled and chained invocations; nothing consumes it automatically');
    this.function.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(this.deadLetterQueue), retryAttempts: 2 });
    this.schedule = functionSchedule(this, this.function, {
      schedule: props.gcSchedule ?? scheduler.ScheduleExpression.rate(Duration.days(1)),
      description: retentionOnSchedule ? 'Nimbus: a retention run, then an incremental garbage collection pass' : 'Nimbus: an incremental garbage collection pass',
      roleDescription: 'Nimbus garbage collection schedule: invokes the collector and dead-letters what fails',
      input: scheduler.ScheduleTargetInput.fromObject(retentionOnSchedule ? { full: false, retention: true } : { full: false }),
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
    });
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue,
      'Nimbus: a garbage collection invocation failed every attempt; its event is in the collector\'s dead-letter queue');
  }
}

/**
 * What a pass deletes is recorded in the events outbox with the deletion (EVENTS: journal,
 * sequence, entries), for the webhooks it lists (WEBHOOKS, read only); the events function
 * delivers them. No webhook secret: recording never reads one.
 */
function grantEventRecording(role: iam.Role, table: dynamodb.ITable): void {
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'EventOutbox',
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.eventsPartition] } },
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'WebhookList',
    actions: ['dynamodb:Query'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.webhooksPartition] } },
  }));
}

/**
 * What a retention run needs beyond the collection's partitions (it deletes tags and manifests in
 * REPO#/TAGS#, reads blob sizes in BLOB#, records events in EVENTS): the policy documents
 * (retention, immutability, cache; read, never written) and the catalog (listed, never written).
 */
function grantRetention(role: iam.Role, table: dynamodb.ITable): void {
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'RetentionPolicies',
    actions: ['dynamodb:GetItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.policy('retention')[PARTITION_KEY]!] } },
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'RetentionCatalog',
    actions: ['dynamodb:Query'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.catalogPartition] } },
  }));
}

/** What a pass touches: GC_PARTITIONS' items, the objects it deletes, and the listings it sweeps. */
function grantCollection(role: iam.Role, bucket: s3.IBucket, table: dynamodb.ITable): void {
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'CollectionItems',
    // Transactions need the per-item actions they contain. Batch reads: sessions and referrer holders.
    actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': GC_PARTITIONS } },
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'CollectionScan',
    // Full passes list every blob record, and the upload sweep finds expired sessions: a Scan names no
    // partition, so it cannot carry the LeadingKeys condition; only the attributes it projects are read.
    actions: ['dynamodb:Scan'],
    resources: [table.tableArn],
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'CollectionObjects',
    actions: ['s3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
    resources: prefixObjects(bucket, 'blobs', 'staging', 'manifests'),
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'CollectionListing',
    actions: ['s3:ListBucket'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${BUCKET_PREFIXES.blobs}*`, `${BUCKET_PREFIXES.staging}*`] } },
  }));
  role.addToPolicy(new iam.PolicyStatement({ sid: 'MultipartListing', actions: ['s3:ListBucketMultipartUploads'], resources: [bucket.bucketArn] }));
}
