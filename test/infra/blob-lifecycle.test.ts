import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BUCKET_PREFIXES } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { registryPropsFromContext } from '../../infra/context';
import { registryFunction, registryStack, template } from './stacks';

const DAY = 86_400;

interface Rule { Id: string; Prefix?: string; Status: string; ExpirationInDays?: number; ExpiredObjectDeleteMarker?: boolean;
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number }; NoncurrentVersionExpiration?: { NoncurrentDays: number } }

function blobBucket(tpl: Template): { Properties: { VersioningConfiguration?: unknown; LifecycleConfiguration: { Rules: Rule[] } } } {
  const buckets = Object.values(tpl.findResources('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue() } }));
  expect(buckets).toHaveLength(1);
  return buckets[0] as ReturnType<typeof blobBucket>;
}

const ruleOf = (tpl: Template, id: string) => blobBucket(tpl).Properties.LifecycleConfiguration.Rules.find((rule) => rule.Id === id)!;

/** The session TTL every upload-serving process is told, one value. */
function sessionTtls(tpl: Template): number[] {
  const fn = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, string> }).Variables[LAMBDA_ENV.uploadSessionTtlSeconds]!;
  const task = Object.values(tpl.findResources('AWS::ECS::TaskDefinition')).flatMap((definition) => (definition.Properties as {
    ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: string }> }> }).ContainerDefinitions)
    .flatMap((container) => container.Environment).filter((entry) => entry.Name === LAMBDA_ENV.uploadSessionTtlSeconds).map((entry) => entry.Value);
  const web = Object.values(tpl.findResources('AWS::Lambda::WebFunctionRevision'))
    .map((revision) => (revision.Properties as { ServiceConfig: { EnvironmentVariables: Record<string, string> } }).ServiceConfig.EnvironmentVariables[LAMBDA_ENV.uploadSessionTtlSeconds]!);
  return [fn, ...task, ...web].map(Number);
}

describe('blob bucket versioning', () => {
  const tpl = template();

  it('is versioned, keeps deleted or overwritten objects 30 days, then removes them and their delete markers', () => {
    expect(blobBucket(tpl).Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(ruleOf(tpl, 'expire-noncurrent-versions')).toEqual({
      Id: 'expire-noncurrent-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true,
    });
  });

  it('drops replaced staged tails after a day, so upload churn does not pile up as noncurrent versions', () => {
    expect(ruleOf(tpl, 'expire-staged-tails')).toMatchObject({ Prefix: BUCKET_PREFIXES.staging, NoncurrentVersionExpiration: { NoncurrentDays: 1 } });
  });

  it('takes the retention as a prop and from nimbus:noncurrentVersionDays, and refuses nonsense', () => {
    expect(ruleOf(template({ noncurrentVersionDays: 7 }), 'expire-noncurrent-versions').NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 7 });
    const app = new App({ context: { 'nimbus:noncurrentVersionDays': '90' } });
    expect(registryPropsFromContext(app.node)).toEqual({ noncurrentVersionDays: 90 });
    expect(() => registryPropsFromContext(new App({ context: { 'nimbus:noncurrentVersionDays': '0' } }).node)).toThrow(/from 1 to 36500/);
    expect(() => registryStack({ noncurrentVersionDays: 0.5 })).toThrow(/whole number of days/);
  });
});

describe('upload lifecycle agrees with the session TTL', () => {
  for (const [name, ttl, kind] of [
    ['default TTL, fargate', undefined, 'fargate'], ['3 days and a second, fargate', 3 * DAY + 1, 'fargate'],
    ['5 minutes, web function', 300, 'webFunction'], ['30 days, web function', 30 * DAY, 'webFunction'],
  ] as const) {
    it(`never aborts or expires the parts of a live session: ${name}`, () => {
      const tpl = template({ ...(ttl !== undefined ? { uploadSessionTtlSeconds: ttl } : {}), uploadEndpoint: { kind } });
      const ttls = sessionTtls(tpl);
      expect(ttls).toHaveLength(2); // the function and the endpoint
      expect(new Set(ttls)).toEqual(new Set([ttl ?? DAY]));
      const abort = ruleOf(tpl, 'abort-abandoned-blob-uploads');
      expect(abort).toMatchObject({ Prefix: BUCKET_PREFIXES.blobs, Status: 'Enabled' });
      const staged = ruleOf(tpl, 'expire-staged-tails');
      // S3 counts both from creation: the window covers the TTL plus two days of an upload's own activity.
      for (const days of [abort.AbortIncompleteMultipartUpload!.DaysAfterInitiation, staged.ExpirationInDays!]) {
        expect(days * DAY).toBeGreaterThanOrEqual(ttls[0]! + 2 * DAY);
        expect(days * DAY).toBeLessThan(ttls[0]! + 4 * DAY); // abandoned parts are not billed for long
      }
    });
  }

  it('takes the TTL from nimbus:uploadSessionTtlSeconds, in the range the function and the upload server accept', () => {
    expect(registryPropsFromContext(new App({ context: { 'nimbus:uploadSessionTtlSeconds': '172800' } }).node)).toEqual({ uploadSessionTtlSeconds: 172_800 });
    expect(() => registryPropsFromContext(new App({ context: { 'nimbus:uploadSessionTtlSeconds': '60' } }).node)).toThrow(/from 300 to 2592000/);
    expect(() => registryStack({ uploadSessionTtlSeconds: 31 * DAY })).toThrow(/300 to 2592000/);
  });
});
