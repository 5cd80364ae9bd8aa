import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { PARTITION_KEY } from '../../functions/adapters/aws/table-schema';
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
  acknowledge(fn.role!, `AwsSolutions-IAM5[Resource::${flattenedCacheSecrets(stack)}]`,
    'One secret per cache rule is created at run time, named by the rule; the grant is scoped to the stack\'s cache/ prefix, nothing else.');
}

/**
 * Pull-through cache blob fills on the upload endpoint (both kinds): the registry function
 * redirects blob misses there (functions/upload-server/cache-fills.ts). The endpoint reads the
 * cache rules (the POLICY items), reads upstream credentials under `nimbus/<stack>/cache/` (never
 * writes them), and takes and releases fill leases (CACHEFILL# items); blobs it stores as uploads do.
 */
export function grantCacheFills(role: iam.IRole & IConstruct, table: dynamodb.ITable): void {
  const stack = Stack.of(role);
  const prefix = runTimeSecretPrefix(stack);
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'CacheFillCredentials',
    actions: ['secretsmanager:GetSecretValue'],
    resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${prefix}/cache/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'CacheRules', actions: ['dynamodb:GetItem'], resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.policy('cache')[PARTITION_KEY]] } },
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    sid: 'CacheFillLeases', actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [itemKeys.cacheFillLease('*')[PARTITION_KEY]] } },
  }));
  acknowledge(role, `AwsSolutions-IAM5[Resource::${flattenedCacheSecrets(stack)}]`,
    'Cache rules\' credentials are secrets created at run time, one per rule; the upload endpoint may only read those under the stack\'s cache/ prefix.');
}

/** What the upload endpoint needs in its environment to fill cached blobs. */
export function cacheFillEnvironment(scope: IConstruct): Record<string, string> {
  return { [LAMBDA_ENV.secretPrefix]: runTimeSecretPrefix(Stack.of(scope)) };
}

/** The cache secrets' ARN pattern as cdk-nag names it in finding ids: literals where the stack knows them. */
function flattenedCacheSecrets(stack: Stack): string {
  const known = (value: string, token: string) => (Token.isUnresolved(value) ? `<${token}>` : value);
  return `arn:<AWS::Partition>:secretsmanager:${known(stack.region, 'AWS::Region')}:${known(stack.account, 'AWS::AccountId')}:secret:${known(runTimeSecretPrefix(stack), 'AWS::StackName')}/cache/*`;
}
