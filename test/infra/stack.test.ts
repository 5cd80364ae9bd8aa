import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { only, template, registryFunction } from './stacks';

const tpl = template();

describe('HTTP API', () => {
  it('sends every route to the function with payload format 2.0', () => {
    tpl.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    tpl.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    tpl.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('serves the $default stage, so /v2/ is at the domain root, throttled and access-logged', () => {
    const stage = only(tpl, 'AWS::ApiGatewayV2::Stage').Properties;
    expect(stage).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    expect(stage.AccessLogSettings).toMatchObject({ DestinationArn: expect.anything() });
    // Upload URLs carry capabilities in the query string: access logs record the path only.
    expect(JSON.stringify(stage.AccessLogSettings)).toContain('$context.path');
    expect(JSON.stringify(stage.AccessLogSettings)).not.toMatch(/querystring|routeKey|\$request/i);
  });

  it('has exactly one stage', () => {
    tpl.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
  });

  it('routes GET and POST /token to the same function integration as every other path', () => {
    tpl.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    const routes = Object.values(tpl.findResources('AWS::ApiGatewayV2::Route')).map((route) => route.Properties as { RouteKey: string; Target: unknown });
    expect(routes.map((route) => route.RouteKey).sort()).toEqual(['$default', 'GET /token', 'POST /token']);
    const integration = { 'Fn::Join': ['', ['integrations/', { Ref: expect.stringMatching(/^RegistryHttpApi/) }]] };
    for (const route of routes) expect(route.Target, route.RouteKey).toEqual(integration);
    expect(new Set(routes.map((route) => JSON.stringify(route.Target))).size).toBe(1);
  });

  it('throttles the token endpoint harder than the rest of the API, after its routes exist', () => {
    const stage = Object.values(tpl.findResources('AWS::ApiGatewayV2::Stage'))[0]!;
    const { RouteSettings: settings, DefaultRouteSettings: defaults } = stage.Properties as {
      RouteSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>;
      DefaultRouteSettings: { ThrottlingRateLimit: number; ThrottlingBurstLimit: number };
    };
    expect(Object.keys(settings).sort()).toEqual(['GET /token', 'POST /token']);
    for (const route of Object.values(settings)) {
      expect(route).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
      expect(route.ThrottlingRateLimit).toBeLessThan(defaults.ThrottlingRateLimit);
      expect(route.ThrottlingBurstLimit).toBeLessThan(defaults.ThrottlingBurstLimit);
    }
    const routeIds = Object.entries(tpl.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => (route.Properties as { RouteKey: string }).RouteKey.endsWith('/token')).map(([id]) => id);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('takes the token endpoint\'s rates as a prop', () => {
    const stage = only(template({ tokenThrottle: { rateLimit: 5, burstLimit: 10 } }), 'AWS::ApiGatewayV2::Stage').Properties;
    expect(stage.RouteSettings).toEqual({
      'GET /token': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'POST /token': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });
});

describe('Lambda function', () => {
  const fn = registryFunction(tpl).Properties;

  it('runs nodejs22.x on arm64, sized, within the API Gateway timeout', () => {
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 1024 });
    expect(fn.Timeout).toBeLessThan(30);
  });

  it('logs to its own log group with a retention', () => {
    expect(fn.LoggingConfig).toEqual({ LogGroup: { Ref: expect.stringMatching(/^RegistryFunctionLogs/) } });
    tpl.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gets its table, bucket and secret by reference, never the secret value', () => {
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[LAMBDA_ENV.table]).toEqual({ Ref: expect.stringMatching(/^RegistryMetadataTable/) });
    expect(env[LAMBDA_ENV.bucket]).toEqual({ Ref: expect.stringMatching(/^RegistryBlobs/) });
    expect(env[LAMBDA_ENV.uploadSecretArn]).toEqual({ Ref: expect.stringMatching(/^RegistryUploadKey/) });
    expect(env[LAMBDA_ENV.tokenSecretArn]).toEqual({ Ref: expect.stringMatching(/^RegistryTokenKey/) });
    // The URL login challenges name: the API's own, never a client's Host header.
    expect(JSON.stringify(env[LAMBDA_ENV.publicUrl])).toMatch(/^\{"Fn::Join":\["",\["https:\/\/",\{"Ref":"RegistryHttpApi[^"]*"\},".execute-api./);
    expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
    expect(env).not.toHaveProperty(LAMBDA_ENV.emulator);
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString/);
  });
});

describe('blob bucket', () => {
  const buckets = tpl.findResources('AWS::S3::Bucket', { Properties: { LifecycleConfiguration: Match.anyValue(), LoggingConfiguration: Match.anyValue() } });
  const [logicalId, blobs] = Object.entries(buckets)[0]!;

  it('blocks all public access and is encrypted at rest', () => {
    expect(Object.keys(buckets)).toHaveLength(1);
    expect(blobs.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    expect(blobs.Properties.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
  });

  it('refuses requests without TLS', () => {
    tpl.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({
        Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      })]) },
    });
  });

  it('is retained when the stack is deleted', () => {
    expect(blobs).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('can be destroyed with the stack when asked', () => {
    const destroyable = template({ dataRemovalPolicy: RemovalPolicy.DESTROY });
    for (const bucket of Object.values(destroyable.findResources('AWS::S3::Bucket'))) expect(bucket.DeletionPolicy).toBe('Delete');
  });
});

describe('metadata table', () => {
  const table = only(tpl, 'AWS::DynamoDB::Table');

  it('has point-in-time recovery and the adapters\' TTL attribute', () => {
    expect(table.Properties).toMatchObject({
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
  });

  it('is on-demand, keyed as the adapters\' schema says, and retained', () => {
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: 'HASH' }, { AttributeName: SORT_KEY, KeyType: 'RANGE' }],
    });
    expect(table).toMatchObject({ DeletionPolicy: 'Retain' });
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
  });

  it('takes deletion protection when asked', () => {
    const protectedTable = only(template({ tableDeletionProtection: true }), 'AWS::DynamoDB::Table');
    expect(protectedTable.Properties.DeletionProtectionEnabled).toBe(true);
  });
});

describe('invoke permission', () => {
  it('lets only this API invoke the function', () => {
    const permissions = Object.values(tpl.findResources('AWS::Lambda::Permission')).map((p) => p.Properties as Record<string, unknown>);
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions) {
      expect(permission).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      expect(JSON.stringify(permission.SourceArn)).toMatch(/RegistryHttpApi/);
    }
  });
});

describe('upload key and token signing key', () => {
  const secrets = tpl.findResources('AWS::SecretsManager::Secret');

  it('are two secrets generated by Secrets Manager, long enough for their keys', () => {
    expect(Object.keys(secrets).map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['RegistryTokenKey', 'RegistryUploadKey']);
    for (const secret of Object.values(secrets)) {
      expect(secret.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64, ExcludePunctuation: true });
      expect(secret.Properties).not.toHaveProperty('SecretString');
    }
  });
});

describe('outputs', () => {
  it('give the registry URL and a ready docker login command on the API host', () => {
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    const host = ['', [{ Ref: expect.stringMatching(/^RegistryHttpApi/) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]];
    expect(outputs.RegistryUrl!.Value).toEqual({ 'Fn::Join': ['', ['https://', ...(host[1] as unknown[])]] });
    expect(outputs.DockerLoginCommand!.Value).toEqual({ 'Fn::Join': ['', ['docker login ', ...(host[1] as unknown[])]] });
  });

  it('give ready commands that create the first admin in the stack\'s table and region', () => {
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    const table = { Ref: expect.stringMatching(/^RegistryMetadataTable/) };
    const region = { Ref: 'AWS::Region' };
    expect(outputs.FirstAdminCommand!.Value).toEqual({ 'Fn::Join': ['', [
      'echo "$PASSWORD" | npx nimbus --table ', table, ' --region ', region,
      ' user add admin --password-stdin && npx nimbus --table ', table, ' --region ', region, " grant admin '**' pull,push,delete",
    ]] });
    expect(outputs.TokenSigningSecretArn!.Value).toEqual({ Ref: expect.stringMatching(/^RegistryTokenKey/) });
  });
});
