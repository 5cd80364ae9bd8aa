import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { policyOfRole, template } from './stacks';

interface Statement { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown }

const tpl = template();
const statements = (policyOfRole(tpl, /^RegistryFunctionRole/).Properties.PolicyDocument as { Statement: Statement[] }).Statement;
const allowed = new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));

/** The IAM actions each SDK command the adapters send needs. */
export const ACTIONS_OF: Record<string, string[]> = {
  // S3: multipart steps are authorised as s3:PutObject; HeadObject as s3:GetObject.
  PutObject: ['s3:PutObject'], CreateMultipartUpload: ['s3:PutObject'], UploadPart: ['s3:PutObject'], CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'], GetObject: ['s3:GetObject'], HeadObject: ['s3:GetObject'],
  DeleteObject: ['s3:DeleteObject'], DeleteObjects: ['s3:DeleteObject'], ListObjectsV2: ['s3:ListBucket'],
  CopyObject: ['s3:GetObject', 's3:PutObject'], UploadPartCopy: ['s3:GetObject', 's3:PutObject'], ListParts: ['s3:ListMultipartUploadParts'],
  ListMultipartUploads: ['s3:ListBucketMultipartUploads'],
  // DynamoDB document client.
  Get: ['dynamodb:GetItem'], Put: ['dynamodb:PutItem'], Update: ['dynamodb:UpdateItem'], Delete: ['dynamodb:DeleteItem'],
  Query: ['dynamodb:Query'], Scan: ['dynamodb:Scan'], BatchGet: ['dynamodb:BatchGetItem'], BatchWrite: ['dynamodb:BatchWriteItem'],
  TransactWrite: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  TransactGet: ['dynamodb:GetItem'],
  GetItem: ['dynamodb:GetItem'], PutItem: ['dynamodb:PutItem'], UpdateItem: ['dynamodb:UpdateItem'], DeleteItem: ['dynamodb:DeleteItem'],
  TransactWriteItems: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  // The Lambda entry.
  GetSecretValue: ['secretsmanager:GetSecretValue'],
  // Run-time secrets (secret-vault.ts): webhook secrets and cache credentials.
  CreateSecret: ['secretsmanager:CreateSecret'], PutSecretValue: ['secretsmanager:PutSecretValue'], DeleteSecret: ['secretsmanager:DeleteSecret'],
  Invoke: ['lambda:InvokeFunction'],
  // The upload endpoint's scale-to-zero (the function wakes it).
  UpdateService: ['ecs:UpdateService'],
  // The events function: every event onto the EventBridge bus.
  PutEvents: ['events:PutEvents'],
};

/** SDK commands the .ts files of `dir` send; `files` picks which (the GC's and the events function's own files run only there). */
export function commandsSentBy(dir: string, files: (name: string) => boolean = (name) => !/^(gc|events)[-.]|^eventbridge-sink\.ts$/.test(name)): Set<string> {
  const found = new Set<string>();
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts') && files(name))) {
    // `new sdk.XCommand(`: adapters that load the S3 SDK on first use (s3-access.ts) build commands from the module they loaded.
    for (const match of readFileSync(join(dir, file), 'utf8').matchAll(/new (?:\w+\.)?(\w+)Command\(/g)) found.add(match[1]!);
  }
  return found;
}

describe('function role', () => {
  it('allows every call the adapters and the entry make', () => {
    const root = fileURLToPath(new URL('../../functions/', import.meta.url));
    const commands = new Set(['adapters/aws', 'lambda', 'auth'].flatMap((dir) => [...commandsSentBy(join(root, dir))]));
    expect(commands.size).toBeGreaterThan(5);
    for (const command of commands) {
      const needs = ACTIONS_OF[command];
      expect(needs, `add ${command}'s IAM actions to ACTIONS_OF`).toBeDefined();
      for (const action of needs!) expect(allowed, `${command} needs ${action}`).toContain(action);
    }
  });

  it('grants no wildcard actions, no table administration and nothing on "*"', () => {
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      expect(statement.Resource).not.toBe('*');
    }
    expect([...allowed].filter((a) => /Table|Scan|BatchWrite|s3:PutBucket|s3:DeleteBucket|ListAllMyBuckets/.test(a))).toEqual([]);
  });

  it('scopes object access to three prefixes of the blob bucket, and secrets and logs to their own resources', () => {
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] };
    expect(bySid.BlobObjects!.Resource).toEqual(['blobs/', 'staging/', 'manifests/'].map((prefix) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] })));
    expect(bySid.BlobListing!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] });
    expect(bySid.MetadataItems!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryMetadataTable/), 'Arn'] });
    expect(bySid.UploadKey!.Resource).toEqual({ Ref: expect.stringMatching(/^RegistryUploadKey/) });
    expect(bySid.TokenKey!.Resource).toEqual({ Ref: expect.stringMatching(/^RegistryTokenKey/) });
    expect(bySid.OwnLogs!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryFunctionLogs/), 'Arn'] });
  });

  it('uses no AWS managed policies', () => {
    for (const role of Object.values(tpl.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});
