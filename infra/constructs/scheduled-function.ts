import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge, logicalIdOf } from './nag';

/**
 * What the background functions (events, garbage collection) share: a dead-letter queue for
 * invocations that failed every attempt, an alarm as soon as one lands there, and a schedule
 * that invokes the function and dead-letters what it could not deliver. Construct ids are
 * fixed (`DeadLetters`, `DeadLetterAlarm`, `ScheduleRole`, `Schedule`) so deployed stacks keep
 * their resources.
 */

/** @param consumers what dead-letters into the queue, for the reviewer's note. */
export function deadLetterQueue(scope: Construct, consumers: string): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetters', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  acknowledge(queue, 'AwsSolutions-SQS3', `This queue is itself the dead-letter destination of ${consumers}.`);
  return queue;
}

export function deadLetterAlarm(scope: Construct, queue: sqs.Queue, description: string): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, 'DeadLetterAlarm', {
    alarmDescription: description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: 1, evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

export interface FunctionScheduleProps {
  readonly schedule: scheduler.ScheduleExpression;
  readonly description: string;
  /** Describes the schedule's own role. */
  readonly roleDescription: string;
  readonly deadLetterQueue: sqs.IQueue;
  readonly retryAttempts: number;
  /** @default the scheduler's default input */
  readonly input?: scheduler.ScheduleTargetInput;
}

/** Invokes `fn` on a schedule, through a role of its own so its grant is acknowledged here. */
export function functionSchedule(scope: Construct, fn: lambda.IFunction, props: FunctionScheduleProps): scheduler.Schedule {
  const role = new iam.Role(scope, 'ScheduleRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'), description: props.roleDescription });
  const schedule = new scheduler.Schedule(scope, 'Schedule', {
    schedule: props.schedule,
    description: props.description,
    target: new targets.LambdaInvoke(fn, { input: props.input, deadLetterQueue: props.deadLetterQueue, retryAttempts: props.retryAttempts, role }),
  });
  acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalIdOf(fn)}.Arn>:*]`,
    'aws-scheduler-targets grants the function and its versions; the schedule invokes this one function only.');
  return schedule;
}
