import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { PARTITION_KEY } from '../../functions/adapters/aws/table-schema';
import { actionsOf, type Statement, statementsOfRole, template } from './stacks';

const fargate = template();
const web = template({ uploadEndpoint: { kind: 'webFunction' } });

/** The roles that run code taking upload bytes: they must not reach identity or manifest items. */
const UPLOAD_ROLES: Array<[string, Template, RegExp, { fillsCache: boolean }]> = [
  ['the Fargate upload task', fargate, /^RegistryUploadsTaskTaskRole/, { fillsCache: true }],
  ['the direct-upload verifier', fargate, /^RegistryVerifierRole/, { fillsCache: false }],
  ['the upload web function', web, /^RegistryUploadsRole[0-9A-F]{8}$/, { fillsCache: true }],
];

/** IAM StringLike: `*` any run of characters, `?` one character, case-sensitive. */
function stringLike(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

/** Every AUTH# partition the identity store writes, read from its source so a new one is checked too. */
function authPartitions(): string[] {
  const source = readFileSync(fileURLToPath(new URL('../../functions/adapters/aws/dynamo-identity-store.ts', import.meta.url)), 'utf8');
  const found = [...source.matchAll(/['`](AUTH#[A-Z#]*)/g)].map((match) => `${match[1]}${match[1]!.endsWith('#') ? 'some-key' : ''}`);
  return [...new Set(found)];
}

const pk = (key: Record<string, string>) => key[PARTITION_KEY]!;
const FORBIDDEN_PARTITIONS = [
  ...authPartitions(),
  pk(itemKeys.manifest('team/app', 'sha256:abc')), pk(itemKeys.manifestTag('team/app', 'sha256:abc', 'v1')),
  pk(itemKeys.tag('team/app', 'v1')), pk(itemKeys.referrer('team/app', 'sha256:abc', 'sha256:def')),
];
/** What the upload paths and the verifier write (data-layout.ts, "API call → storage operations"). */
const UPLOAD_PARTITIONS = [
  pk(itemKeys.upload('0b7c1f2e-upload')), pk(itemKeys.blob('sha256:abc')), pk(itemKeys.blobLink('sha256:abc', 'team/app')), pk(itemKeys.repository('team/app')),
];

const dynamoStatements = (statements: Statement[]) => statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
const leadingKeys = (statement: Statement) => statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;

describe('least privilege of the code that takes upload bytes', () => {
  it('reads the identity store\'s partitions from its source', () => {
    expect(authPartitions()).toEqual(expect.arrayContaining(['AUTH#PRINCIPALS', 'AUTH#GRANTS', 'AUTH#FEDERATIONS', 'AUTH#ATTEMPTS#some-key']));
  });

  for (const [who, tpl, role, { fillsCache }] of UPLOAD_ROLES) {
    describe(who, () => {
      const statements = statementsOfRole(tpl, role);
      const dynamo = dynamoStatements(statements);

      it('reaches table items only through dynamodb:LeadingKeys on upload-session, blob and catalog partitions (and the cache\'s rules and fill leases)', () => {
        const cacheSids = fillsCache ? ['CacheFillLeases', 'CacheRules'] : [];
        expect(dynamo.map((s) => s.Sid).sort()).toEqual(['BlobItems', ...cacheSids, 'GcReviewItems', 'UploadSessionItems']);
        for (const statement of dynamo) {
          expect(statement.Effect).toBe('Allow');
          expect(Object.keys(statement.Condition ?? {})).toEqual(['ForAllValues:StringLike']);
          expect(statement.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryMetadataTable/), 'Arn'] });
          // Single-item actions only: each names its item's key, so the condition always has values to test.
          for (const action of actionsOf(statement)) {
            expect(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem']).toContain(action);
          }
        }
        const bySid = Object.fromEntries(dynamo.map((s) => [s.Sid, s]));
        expect(leadingKeys(bySid.UploadSessionItems!)).toEqual(['UPLOAD#*']);
        expect(actionsOf(bySid.UploadSessionItems!)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
        expect(leadingKeys(bySid.BlobItems!)).toEqual(['BLOB#*', 'CATALOG']);
        expect(actionsOf(bySid.BlobItems!)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']);
        // A new blob record queues its garbage-collection review (only adding to the queue).
        expect(leadingKeys(bySid.GcReviewItems!)).toEqual(['GC#*']);
        expect(actionsOf(bySid.GcReviewItems!)).toEqual(['dynamodb:PutItem']);
        if (!fillsCache) return;
        // Pull-through cache fills: read the rules (POLICY items, no secret in them), take and release fill leases.
        expect(leadingKeys(bySid.CacheRules!)).toEqual(['POLICY']);
        expect(actionsOf(bySid.CacheRules!)).toEqual(['dynamodb:GetItem']);
        expect(leadingKeys(bySid.CacheFillLeases!)).toEqual(['CACHEFILL#*']);
        expect(actionsOf(bySid.CacheFillLeases!)).toEqual(['dynamodb:PutItem', 'dynamodb:DeleteItem']);
      });

      it('can reach every item the upload path writes, and no user, grant, federation, login counter, manifest or tag', () => {
        const patterns = dynamo.flatMap((statement) => leadingKeys(statement)!);
        for (const partition of UPLOAD_PARTITIONS) expect(patterns.some((p) => stringLike(p, partition)), partition).toBe(true);
        for (const partition of FORBIDDEN_PARTITIONS) expect(patterns.filter((p) => stringLike(p, partition)), partition).toEqual([]);
      });

      it('has no table-wide action: no Query, Scan, batch, transaction or table administration', () => {
        const actions = statements.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
        expect(actions.filter((a) => /Query|Scan|Batch|Transact|Table|\*/.test(a))).toEqual([]);
      });
    });
  }
});

describe('S3 grants per role', () => {
  const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] };
  const objects = (...prefixes: string[]) => prefixes.map((prefix) => ({ 'Fn::Join': ['', [bucketArn, `/${prefix}*`]] }));
  const objectResources = (statements: Statement[]) => statements
    .filter((s) => actionsOf(s).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket')).flatMap((s) => [s.Resource].flat());

  it('gives each role the prefixes it writes and no other', () => {
    expect(objectResources(statementsOfRole(fargate, /^RegistryFunctionRole/))).toEqual(objects('blobs/', 'staging/', 'manifests/'));
    expect(objectResources(statementsOfRole(fargate, /^RegistryUploadsTaskTaskRole/))).toEqual(objects('blobs/', 'staging/'));
    expect(objectResources(statementsOfRole(web, /^RegistryUploadsRole[0-9A-F]{8}$/))).toEqual(objects('blobs/', 'staging/'));
    expect(objectResources(statementsOfRole(fargate, /^RegistryVerifierRole/))).toEqual(objects('blobs/'));
  });

  it('lets no one delete a blob-bucket object version, change its versioning or its lifecycle: a delete can always be undone', () => {
    for (const tpl of [fargate, web]) {
      const documents = [
        ...Object.values(tpl.findResources('AWS::IAM::Policy')),
        ...Object.values(tpl.findResources('AWS::S3::BucketPolicy')),
      ].map((resource) => resource.Properties.PolicyDocument as { Statement: Statement[] });
      const allowed = documents.flatMap((document) => document.Statement)
        .filter((statement) => statement.Effect === 'Allow' && JSON.stringify(statement.Resource).includes('RegistryBlobs'));
      expect(allowed.length).toBeGreaterThan(3);
      for (const statement of allowed) {
        for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*|Version|Lifecycle|PutBucket|DeleteBucket/);
      }
    }
  });
});
