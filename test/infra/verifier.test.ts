import { describe, expect, it } from 'vitest';
import { actionsOf, registryFunction, statementsOfRole, template } from './stacks';

describe('direct-upload verifier', () => {
  const tpl = template();
  const verifier = Object.entries(tpl.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryVerifierHandler/.test(id));
  const queueId = Object.keys(tpl.findResources('AWS::SQS::Queue')).find((id) => /^RegistryVerifierDeadLetters/.test(id))!;

  it('is its own nodejs22.x arm64 function with room to hash a large blob', () => {
    expect(verifier).toBeDefined();
    const props = verifier![1].Properties as Record<string, unknown>;
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Timeout).toBe(900);
    expect(props.MemorySize).toBe(1769);
  });

  it('may read and delete blob objects, write upload-session and blob items, and dead-letter its tasks, nothing more', () => {
    const statements = statementsOfRole(tpl, /^RegistryVerifierRole/);
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:PutItem', 'dynamodb:PutItem',
      'dynamodb:UpdateItem', 'dynamodb:UpdateItem',
      'logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:GetObject', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage',
    ]);
    const blobs = statements.find((s) => s.Sid === 'AssembledBlobs')!;
    expect(blobs.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] }, '/blobs/*']] });
    const sqs = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(sqs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
  });

  it('sends a task that failed its first try and two retries to an encrypted, TLS-only dead-letter queue kept 14 days', () => {
    const invokeConfigs = Object.values(tpl.findResources('AWS::Lambda::EventInvokeConfig')).filter((config) => config.Properties.FunctionName?.Ref === verifier![0]);
    expect(invokeConfigs).toHaveLength(1);
    expect(invokeConfigs[0]!.Properties).toEqual({
      FunctionName: { Ref: verifier![0] }, Qualifier: '$LATEST', MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    expect(tpl.toJSON().Resources[queueId].Properties).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    const queuePolicies = Object.values(tpl.findResources('AWS::SQS::QueuePolicy')).filter((policy) => policy.Properties.Queues?.[0]?.Ref === queueId);
    expect(queuePolicies).toHaveLength(1);
    expect(queuePolicies[0]!).toMatchObject({ Properties: {
      Queues: [{ Ref: queueId }],
      PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
    } });
  });

  it('raises an alarm when a task is dead-lettered, and when an attempt fails', () => {
    const alarms = Object.values(tpl.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties as Record<string, unknown>);
    expect(alarms).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
      }),
      expect.objectContaining({
        Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: verifier![0] } }],
        Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
      }),
    ]));
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.VerifierDeadLetterQueueUrl!.Value).toEqual({ Ref: queueId });
  });

  it('is invoked by the registry function, which may invoke it and no other function', () => {
    const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.NIMBUS_VERIFIER_FUNCTION).toEqual({ Ref: verifier![0] });
    const statements = statementsOfRole(tpl, /^RegistryFunctionRole/);
    const invoke = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invoke).toEqual([expect.objectContaining({ Sid: 'EnqueueVerification', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [verifier![0], 'Arn'] } })]);
  });
});
