import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { acknowledge } from './nag';

/** The prefix of the secrets the registry writes at run time: `nimbus/<stack name>`. */
export function secretPrefixOf(scope: Construct): string {
  return `nimbus/${Stack.of(scope).stackName}`;
}

/**
 * Webhook secrets live in Secrets Manager as `<prefix>/webhook/<id>` (DynamoWebhookStore). The
 * registry function writes and removes them (`manage`: webhook add / remove, and reads for a
 * ping); the events function only reads them (`read`). The statement is scoped to the webhook
 * names of this stack, apart from any other run-time secret kind.
 */
export function grantWebhookSecrets(fn: lambda.Function, access: 'manage' | 'read'): void {
  const prefix = secretPrefixOf(fn);
  fn.addEnvironment(LAMBDA_ENV.secretPrefix, prefix);
  const resource = Stack.of(fn).formatArn({
    service: 'secretsmanager', resource: 'secret', resourceName: `${prefix}/webhook/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  fn.addToRolePolicy(new iam.PolicyStatement({
    sid: 'WebhookSecrets',
    actions: access === 'manage'
      ? ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret', 'secretsmanager:GetSecretValue']
      : ['secretsmanager:GetSecretValue'],
    resources: [resource],
  }));
  // The finding names the ARN as cdk-nag flattens it: unresolved region and account as <AWS::…>.
  const stack = Stack.of(fn);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  acknowledge(fn.role ?? fn, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${region}:${account}:secret:${prefix}/webhook/*]`,
    'A secret per webhook, created at run time with a random id (and a random suffix Secrets Manager adds): granted on this stack\'s webhook names only.');
}
