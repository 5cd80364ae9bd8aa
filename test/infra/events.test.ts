import * as events from 'aws-cdk-lib/aws-events';
import { App, Stack } from 'aws-cdk-lib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { ACTIONS_OF, commandsSentBy } from './iam.test';
import { actionsOf, type Statement, template } from './stacks';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const tpl = template();
const [functionId, fn] = Object.entries(tpl.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryEventsHandler/.test(id))!;
const statements: Statement[] = Object.values(tpl.findResources('AWS::IAM::Policy'))
  .filter((policy) => (policy.Properties.Roles as Array<{ Ref?: string }>).some((ref) => /^RegistryEventsRole/.test(ref.Ref ?? '')))
  .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));

describe('the events function (webhooks and EventBridge)', () => {
  it('is a nodejs22.x arm64 function that runs one pass at a time', () => {
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Properties.Environment.Variables[LAMBDA_ENV.eventBus]).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']],
    });
  });

  it('is woken by the table stream for outbox entries only, with a dead-letter queue', () => {
    const table = Object.values(tpl.findResources('AWS::DynamoDB::Table'))[0]!;
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
    const mappings = Object.values(tpl.findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties as Json)
      .filter((m) => m.FunctionName.Ref === functionId);
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]!;
    expect(mapping.StartingPosition).toBe('LATEST');
    expect(mapping.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryEventsDeadLetters/), 'Arn'] });
    expect(JSON.parse(mapping.FilterCriteria.Filters[0].Pattern as string)).toEqual({
      eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: ['EVENTS'] }, sk: { S: [{ prefix: 'ENTRY#' }] } } },
    });
  });

  it('retries every minute on a schedule and alarms on its dead-letter queue', () => {
    const schedule = Object.values(tpl.findResources('AWS::Scheduler::Schedule')).map((s) => s.Properties as Json)
      .find((s) => s.Target.Arn['Fn::GetAtt']?.[0] === functionId)!;
    expect(schedule.ScheduleExpression).toBe('rate(1 minute)');
    expect(schedule.Target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryEventsDeadLetters/), 'Arn'] });
    const alarm = Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Json)
      .find((a) => a.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0]?.startsWith('RegistryEventsDeadLetters'))!;
    expect([alarm.MetricName, alarm.Threshold, alarm.ComparisonOperator]).toEqual(['ApproximateNumberOfMessagesVisible', 1, 'GreaterThanOrEqualToThreshold']);
  });

  it('may put events on the bus only, and write only the outbox and webhook partitions', () => {
    expect(actionsOf(bySid.PutEvents!)).toEqual(['events:PutEvents']);
    expect(bySid.PutEvents!.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':event-bus/default']],
    });
    expect(bySid.OutboxItems!.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys']).toEqual(['EVENTS', 'WEBHOOKS', 'WEBHOOK#*']);
    expect(actionsOf(bySid.ChangeChecks!).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    expect(bySid.ChangeChecks!.Condition!['ForAllValues:StringLike']!['dynamodb:LeadingKeys']).toEqual(['REPO#*', 'TAGS#*', 'BLOB#*']);
    const writes = statements.filter((s) => actionsOf(s).some((action) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action)));
    expect(writes.map((s) => s.Sid)).toEqual(['OutboxItems']);
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('events:'))).toEqual(['events:PutEvents']);
    expect(statements.flatMap(actionsOf)).not.toContain('dynamodb:Scan');
  });

  it('gives both functions the webhook address policy of the webhookAddresses prop', () => {
    const strict = template({ webhookAddresses: 'public' });
    const functions = Object.entries(strict.findResources('AWS::Lambda::Function')).filter(([name]) => /^Registry(Events|Function)Handler/.test(name));
    expect(functions.map(([name]) => name.replace(/Handler.*/, '')).sort()).toEqual(['RegistryEvents', 'RegistryFunction']);
    for (const [, each] of functions) expect(each.Properties.Environment.Variables[LAMBDA_ENV.webhookAddresses]).toBe('public');
  });

  it('allows every call the events function\'s code sends', () => {
    const root = fileURLToPath(new URL('../../functions/', import.meta.url));
    const allowed = new Set(statements.flatMap(actionsOf));
    const files = (name: string) => ['dynamo-outbox.ts', 'dynamo-webhook-store.ts', 'eventbridge-sink.ts', 'tag-items.ts'].includes(name);
    const commands = new Set([...commandsSentBy(`${root}adapters/aws`, files), ...commandsSentBy(`${root}lambda`, (name) => name.startsWith('events'))]);
    expect(commands.has('PutEvents')).toBe(true);
    for (const command of commands) for (const action of ACTIONS_OF[command] ?? [`unknown ${command}`]) expect(allowed, `${command} needs ${action}`).toContain(action);
  });

  it('keeps webhook secrets in Secrets Manager under nimbus/<stack>: the registry function manages them, the events function only reads them', () => {
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:nimbus/Nimbus/webhook/*']] };
    const registryStatements = Object.values(tpl.findResources('AWS::IAM::Policy'))
      .filter((policy) => (policy.Properties.Roles as Array<{ Ref?: string }>).some((ref) => /^RegistryFunctionRole/.test(ref.Ref ?? '')))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
    const registryWebhookSecrets = registryStatements.filter((statement) => statement.Sid === 'WebhookSecrets');
    expect(registryWebhookSecrets).toHaveLength(1);
    expect(actionsOf(registryWebhookSecrets[0]!).sort()).toEqual([
      'secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue',
    ]);
    expect(registryWebhookSecrets[0]!.Resource).toEqual(arn);
    expect(actionsOf(bySid.WebhookSecrets!)).toEqual(['secretsmanager:GetSecretValue']);
    expect(bySid.WebhookSecrets!.Resource).toEqual(arn);
    // The events function reads no other secret, and writes none.
    expect(statements.flatMap(actionsOf).filter((action) => action.startsWith('secretsmanager:'))).toEqual(['secretsmanager:GetSecretValue']);
    const registryFn = Object.entries(tpl.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryFunctionHandler/.test(id))![1];
    for (const each of [fn, registryFn]) expect(each.Properties.Environment.Variables[LAMBDA_ENV.secretPrefix]).toBe('nimbus/Nimbus');
  });

  it('puts events on the bus given as a prop, and only that one', () => {
    const bus = events.EventBus.fromEventBusArn(new Stack(new App(), 'Elsewhere'), 'Bus', 'arn:aws:events:eu-west-1:123456789012:event-bus/ci');
    const custom = template({ eventBus: bus });
    const [id, handler] = Object.entries(custom.findResources('AWS::Lambda::Function')).find(([name]) => /^RegistryEventsHandler/.test(name))!;
    expect(id).toBeDefined();
    expect(handler.Properties.Environment.Variables[LAMBDA_ENV.eventBus]).toBe('arn:aws:events:eu-west-1:123456789012:event-bus/ci');
    expect(handler.Properties.Environment.Variables[LAMBDA_ENV.webhookAddresses]).toBe('private');
    const put = Object.values(custom.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter((statement) => actionsOf(statement).includes('events:PutEvents'));
    expect(put.map((statement) => statement.Resource)).toEqual(['arn:aws:events:eu-west-1:123456789012:event-bus/ci']);
  });
});
