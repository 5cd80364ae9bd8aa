import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { acknowledge } from './nag';

/** The prefix of the secrets the registry writes at run time: `nimbus/<stack name>`. */
export function runTimeSecretPrefix(scope: Stack): string {
  return `nimbus/${scope.stackName}`;
}

/**
 * Pull-through cache credentials (README "Pull-through cache"): the function keeps one secret per
 * cache rule, `nimbus/<stack>/cache/<hex of the prefix>`, created, replaced, read and deleted at
 * run time (functions/adapters/aws/cache-stores.ts). Setting the prefix turns the cache on; the
 * role may touch secrets under `…/cache/` only, none of the stack's keys or anything else.
 */
export function grantCacheSecrets(fn: LambdaFunction): void {
  const stack = Stack.of(fn);
  const prefix = runTimeSecretPrefix(stack);
  fn.addEnvironment(LAMBDA_ENV.secretPrefix, prefix);
  fn.addToRolePolicy(new iam.PolicyStatement({
    sid: 'CacheCredentials',
    actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'],
    // Secrets Manager appends -<6 random characters> to each secret's ARN: the trailing * covers it.
    resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${prefix}/cache/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
  }));
  // The finding id names the resource as cdk-nag flattens it: literals where the stack knows them.
  const known = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
  const flattened = `arn:<AWS::Partition>:secretsmanager:${known(stack.region, 'AWS::Region')}:${known(stack.account, 'AWS::AccountId')}:secret:${known(prefix, 'AWS::StackName')}/cache/*`;
  acknowledge(fn.role!, `AwsSolutions-IAM5[Resource::${flattened}]`,
    'One secret per cache rule is created at run time, named by the rule; the grant is scoped to the stack\'s cache/ prefix, nothing else.');
}
