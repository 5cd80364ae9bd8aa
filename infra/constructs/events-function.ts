import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { PARTITION_KEY, SORT_KEY } from '../../functions/adapters/aws/table-schema';
import { prefixObjects } from './blob-bucket';
import { bundledFunction } from './bundled-function';
import { acknowledge, logicalIdOf } from './nag';
import { deadLetterAlarm, deadLetterQueue, functionSchedule } from './scheduled-function';

/**
 * The partitions the events function reads and writes: the outbox and webhooks, and (to settle
 * a crash-left journal: did its change happen?) manifests, tags and blob links, read only.
 */
export const EVENTS_WRITE_PARTITIONS = [itemKeys.eventsPartition, itemKeys.webhooksPartition, itemKeys.webhookSecret('*')[PARTITION_KEY]];
export const EVENTS_READ_PARTITIONS = [itemKeys.repositoryPartition('*'), itemKeys.tagsPartition('*'), itemKeys.blob('*')[PARTITION_KEY]];

export interface EventsFunctionProps {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  /** Every registry event is put on this bus (source `nimbus`, detail-type the CloudEvent type). @default the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Delivers the DynamoDB outbox (functions/lambda/events.ts): woken by the table's stream when
 * an outbox entry is written, and every minute by a schedule for retries that came due and
 * journals a crashed request left. One pass at a time (reserved concurrency 1), so events of a
 * repository go out in order. Invocations that fail every attempt land in a dead-letter queue
 * with an alarm; deliveries that fail are retried and dead-lettered in the outbox itself.
 */
export class EventsFunction extends Construct {
  readonly function: lambda.Function;
  readonly eventBus: events.IEventBus;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EventsFunctionProps) {
    super(scope, id);
    const { bucket, table } = props;
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus events: delivers the outbox to webhooks and the EventBridge bus',
    });
    this.function = bundledFunction(this, 'Handler', {
      entry: 'functions/lambda/events.ts', role, logGroup, memorySize: 512, timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 1,
      environment: {
        [LAMBDA_ENV.table]: table.tableName,
        [LAMBDA_ENV.bucket]: bucket.bucketName,
        [LAMBDA_ENV.eventBus]: this.eventBus.eventBusArn,
        POWERTOOLS_SERVICE_NAME: 'nimbus-events',
      },
    });
    grantEvents(role, bucket, table, this.eventBus);
    role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/manifests/*]`,
      'Recovery reads a large manifest\'s body to check its change happened; keys are repository and digest, limited to that prefix.');

    this.deadLetterQueue = deadLetterQueue(this, 'the events function\'s stream batches and schedule');
    this.function.addEventSource(new sources.DynamoEventSource(table, {
      startingPosition: lambda.StartingPosition.LATEST, batchSize: 100, maxBatchingWindow: Duration.seconds(1), retryAttempts: 3,
      onFailure: new sources.SqsDlq(this.deadLetterQueue),
      filters: [lambda.FilterCriteria.filter({
        eventName: lambda.FilterRule.isEqual('INSERT'),
        dynamodb: { Keys: { [PARTITION_KEY]: { S: lambda.FilterRule.isEqual(itemKeys.eventsPartition) }, [SORT_KEY]: { S: lambda.FilterRule.beginsWith(itemKeys.eventEntryPrefix) } } },
      })],
    }));
    acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'dynamodb:ListStreams (added by the stream event source) has no resource-level permissions.');
    functionSchedule(this, this.function, {
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      description: 'Nimbus: retries due webhook and EventBridge deliveries',
      roleDescription: 'Nimbus events schedule: invokes the events function and dead-letters what fails',
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 0,
    });
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue,
      'Nimbus: an events function invocation failed every attempt (storage errors); see its dead-letter queue and logs');
  }
}

function grantEvents(role: iam.Role, bucket: s3.IBucket, table: dynamodb.ITable, bus: events.IEventBus): void {
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'OutboxItems',
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': EVENTS_WRITE_PARTITIONS } },
  }));
  role.addToPolicy(new iam.PolicyStatement({
    sid: 'ChangeChecks',
    actions: ['dynamodb:GetItem', 'dynamodb:Query'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': EVENTS_READ_PARTITIONS } },
  }));
  role.addToPolicy(new iam.PolicyStatement({ sid: 'ManifestBodies', actions: ['s3:GetObject'], resources: prefixObjects(bucket, 'manifests') }));
  role.addToPolicy(new iam.PolicyStatement({ sid: 'PutEvents', actions: ['events:PutEvents'], resources: [bus.eventBusArn] }));
}
