import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { describe, expect, it } from 'vitest';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { PARTITION_KEY } from '../../functions/adapters/aws/table-schema';
import { ACTIONS_OF, commandsSentBy } from './iam.test';
import { actionsOf, type Statement, template } from './stacks';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const tpl = template();
const [functionId, gcFunction] = Object.entries(tpl.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryGcHandler/.test(id))!;
/** Every statement of every policy on the collector's role (its default policy and the resume policy). */
const statements: Statement[] = Object.values(tpl.findResources('AWS::IAM::Policy'))
  .filter((policy) => (policy.Properties.Roles as Array<{ Ref?: string }>).some((ref) => /^RegistryGcRole/.test(ref.Ref ?? '')))
  .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
const leadingKeys = (sid: string) => bySid[sid]!.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys'] as string[];
const stringLike = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value);

describe('scheduled garbage collection', () => {
  it('runs daily by default through EventBridge Scheduler, with retries and a dead-letter queue', () => {
    // The events function has a schedule of its own (events.test.ts).
    const schedules = Object.values(tpl.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties as Json)
      .filter((s) => s.Target.Arn['Fn::GetAtt']?.[0] === functionId);
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.ScheduleExpression).toBe('rate(1 day)');
    expect(schedules[0]!.Target.Arn).toEqual({ 'Fn::GetAtt': [functionId, 'Arn'] });
    expect(schedules[0]!.Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
    expect(schedules[0]!.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryGcDeadLetters/), 'Arn'] });
  });

  it('takes the schedule and the safety window as props', () => {
    const custom = template({ gcSchedule: scheduler.ScheduleExpression.cron({ hour: '3', minute: '0' }), gcMinAge: Duration.hours(6) });
    const schedule = Object.values(custom.findResources('AWS::Scheduler::Schedule'))[0]!.Properties as Record<string, unknown>;
    expect(schedule.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    const fn = Object.entries(custom.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryGcHandler/.test(id))![1];
    expect(fn.Properties.Environment.Variables[LAMBDA_ENV.gcMinAgeMs]).toBe(String(6 * 3_600_000));
  });

  it('is a 15-minute nodejs22.x function with the 24 h window, resuming itself at most 8 times', () => {
    const props = gcFunction.Properties as Json;
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Timeout).toBe(900);
    expect(props.Environment.Variables[LAMBDA_ENV.gcMinAgeMs]).toBe(String(86_400_000));
    expect(props.Environment.Variables[LAMBDA_ENV.gcMaxChain]).toBe('8');
    const resume = Object.values(tpl.findResources('AWS::IAM::Policy')).map((p) => p.Properties as Json)
      .find((p) => p.PolicyDocument.Statement.some((s: { Sid?: string }) => s.Sid === 'ResumePass'))!;
    expect(resume.PolicyDocument.Statement).toEqual([expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [functionId, 'Arn'] } })]);
  });

  it('reaches table items only in the partitions it collects, never identity items or the catalog', () => {
    const patterns = leadingKeys('CollectionItems');
    const needed = [itemKeys.blob('sha256:abc'), itemKeys.blobLink('sha256:abc', 'team/app'), itemKeys.upload('x'), itemKeys.manifest('team/app', 'sha256:abc'),
      itemKeys.tag('team/app', 'v1'), itemKeys.referrer('team/app', 'sha256:abc', 'sha256:def')].map((key) => key[PARTITION_KEY]!).concat(itemKeys.gcReviewPartition('a'));
    for (const partition of needed) expect(patterns.some((p) => stringLike(p, partition)), partition).toBe(true);
    for (const partition of ['AUTH#PRINCIPALS', 'AUTH#GRANTS', 'AUTH#FEDERATIONS', 'CATALOG']) expect(patterns.filter((p) => stringLike(p, partition)), partition).toEqual([]);
    expect(actionsOf(bySid.CollectionScan!)).toEqual(['dynamodb:Scan']);
  });

  it('records what it deletes in the events outbox (EVENTS), reads the webhook list only, and no secret', () => {
    expect(leadingKeys('EventOutbox')).toEqual(['EVENTS']);
    expect(actionsOf(bySid.EventOutbox!).sort()).toEqual([
      'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem',
    ]);
    expect(leadingKeys('WebhookList')).toEqual(['WEBHOOKS']);
    expect(actionsOf(bySid.WebhookList!)).toEqual(['dynamodb:Query']);
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    const root = fileURLToPath(new URL('../../functions/', import.meta.url));
    const allowed = new Set(statements.flatMap(actionsOf));
    for (const command of commandsSentBy(`${root}adapters/aws`, (name) => ['dynamo-outbox.ts', 'dynamo-helpers.ts', 'transactions.ts'].includes(name))) {
      for (const action of ACTIONS_OF[command] ?? [`unknown ${command}`]) expect(allowed, `${command} needs ${action}`).toContain(action);
    }
  });

  it('allows every call the GC code sends, and touches objects only under its three prefixes', () => {
    const root = fileURLToPath(new URL('../../functions/', import.meta.url));
    const allowed = new Set(statements.flatMap(actionsOf));
    const gcFiles = (name: string) => /^gc[-.]/.test(name) || ['blob-items.ts', 'reference-records.ts', 'manifest-index.ts', 'tag-items.ts', 'batch-get.ts'].includes(name);
    const commands = new Set([...commandsSentBy(`${root}adapters/aws`, gcFiles), ...commandsSentBy(`${root}lambda`, (name) => name.startsWith('gc'))]);
    expect(commands.has('Scan')).toBe(true);
    for (const command of commands) for (const action of ACTIONS_OF[command] ?? [`unknown ${command}`]) expect(allowed, `${command} needs ${action}`).toContain(action);
    const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] };
    expect(bySid.CollectionObjects!.Resource).toEqual(['blobs/', 'staging/', 'manifests/'].map((prefix) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] })));
    expect(actionsOf(bySid.CollectionObjects!)).not.toContain('s3:PutObject');
  });

  it('runs retention first on the schedule: reads the policy documents and lists the catalog, and writes neither', () => {
    const schedule = Object.values(tpl.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties as Json)
      .find((s) => s.Target.Arn['Fn::GetAtt']?.[0] === functionId)!;
    expect(JSON.parse(schedule.Target.Input as string)).toEqual({ full: false, retention: true });
    expect(leadingKeys('RetentionPolicies')).toEqual(['POLICY']);
    expect(actionsOf(bySid.RetentionPolicies!)).toEqual(['dynamodb:GetItem']);
    expect(leadingKeys('RetentionCatalog')).toEqual(['CATALOG']);
    expect(actionsOf(bySid.RetentionCatalog!)).toEqual(['dynamodb:Query']);
    // Every statement reaching a partition, by its LeadingKeys: what retention reads there is allowed, and nothing more.
    const actionsOn = (partition: string) => statements
      .filter((statement) => (statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined)?.some((p) => stringLike(p, partition)))
      .flatMap(actionsOf).sort();
    expect(actionsOn(itemKeys.policy('cache')[PARTITION_KEY]!)).toEqual(['dynamodb:GetItem']);
    expect(actionsOn(itemKeys.catalogPartition)).toEqual(['dynamodb:Query']);
    // Its reads of tags, manifests and blob sizes, and its deletions, are in the collection's partitions.
    for (const partition of [itemKeys.tagsPartition('team/app'), itemKeys.repositoryPartition('team/app'), itemKeys.blob('sha256:abc')[PARTITION_KEY]!]) {
      expect(actionsOn(partition), partition).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem']));
    }
    const root = fileURLToPath(new URL('../../functions/', import.meta.url));
    const allowed = new Set(statements.flatMap(actionsOf));
    for (const command of commandsSentBy(`${root}adapters/aws`, (name) => ['policy-inventory.ts', 'batch-get.ts'].includes(name))) {
      for (const action of ACTIONS_OF[command] ?? [`unknown ${command}`]) expect(allowed, `${command} needs ${action}`).toContain(action);
    }
  });

  it('runs no retention and grants nothing for it with retentionOnSchedule: false', () => {
    const off = template({ retentionOnSchedule: false });
    const fnId = Object.keys(off.findResources('AWS::Lambda::Function')).find((id) => /^RegistryGcHandler/.test(id))!;
    const schedule = Object.values(off.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties as Json)
      .find((s) => s.Target.Arn['Fn::GetAtt']?.[0] === fnId)!;
    expect(JSON.parse(schedule.Target.Input as string)).toEqual({ full: false });
    const sids = Object.values(off.findResources('AWS::IAM::Policy'))
      .filter((policy) => (policy.Properties.Roles as Array<{ Ref?: string }>).some((ref) => /^RegistryGcRole/.test(ref.Ref ?? '')))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.map((statement) => statement.Sid));
    expect(sids).toContain('CollectionItems');
    expect(sids.filter((sid) => sid?.startsWith('Retention'))).toEqual([]);
  });

  it('raises an alarm when an invocation is dead-lettered', () => {
    const alarms = Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as Json);
    expect(alarms.some((alarm) => alarm.MetricName === 'ApproximateNumberOfMessagesVisible'
      && JSON.stringify(alarm.Dimensions).includes('RegistryGcDeadLetters'))).toBe(true);
  });
});
