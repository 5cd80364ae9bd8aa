import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { registryPropsFromContext } from '../../infra/context';
import { RegistryStack } from '../../infra/registry-stack';
import { only, registryFunction, template } from './stacks';

const tpl = template({ uploadEndpoint: { kind: 'webFunction' } });

describe('upload endpoint as a Lambda web function', () => {
  it('is one AWS::Lambda::WebFunction on Node.js 24, 900 s per request, 32 uploads per environment', () => {
    tpl.resourceCountIs('AWS::Lambda::WebFunction', 1);
    const revision = only(tpl, 'AWS::Lambda::WebFunctionRevision').Properties as {
      BuildConfig: { RuntimeConfig: { Runtime: string }; CodeConfig: { S3Object: Record<string, unknown> } };
      ServiceConfig: { TimeoutSeconds: number; MaxConcurrencyPerEnvironment: number; ExecutionRoleArn: unknown; EnvironmentVariables: Record<string, unknown> };
    };
    expect(revision.BuildConfig.RuntimeConfig.Runtime).toBe('nodejs24.x');
    expect(revision.BuildConfig.CodeConfig.S3Object).toHaveProperty('VersionId'); // each revision pins its code version
    expect(revision.ServiceConfig).toMatchObject({ TimeoutSeconds: 900, MaxConcurrencyPerEnvironment: 32 });
    expect(revision.ServiceConfig.ExecutionRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsRole[0-9A-F]{8}$/), 'Arn'] });
  });

  it('runs the upload server with the Fargate task\'s settings, by reference, never the key itself', () => {
    const env = (only(tpl, 'AWS::Lambda::WebFunctionRevision').Properties as { ServiceConfig: { EnvironmentVariables: Record<string, unknown> } }).ServiceConfig.EnvironmentVariables;
    expect(env).toEqual({
      [LAMBDA_ENV.table]: { Ref: expect.stringMatching(/^RegistryMetadataTable/) },
      [LAMBDA_ENV.bucket]: { Ref: expect.stringMatching(/^RegistryBlobs/) },
      [LAMBDA_ENV.uploadSecretArn]: { Ref: expect.stringMatching(/^RegistryUploadKey/) },
      [LAMBDA_ENV.uploadSessionTtlSeconds]: '86400',
      NIMBUS_PART_SIZE_MIB: '16',
      // Pull-through cache fills: upstream credentials under nimbus/<stack>/cache/.
      [LAMBDA_ENV.secretPrefix]: 'nimbus/Nimbus',
      NODE_OPTIONS: '--enable-source-maps',
      AWS_LAMBDA_NODEJS_ENTRYPOINT: 'index.mjs',
    });
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString|NIMBUS_IDLE_SHUTDOWN|NIMBUS_ECS/);
  });

  it('serves an ApplicationManaged endpoint (docker cannot sign SigV4; the upload capability authorises each request)', () => {
    expect(only(tpl, 'AWS::Lambda::WebFunctionEndpoint').Properties).toMatchObject({ AuthType: 'ApplicationManaged', EndpointType: 'HomeRegion' });
    tpl.resourceCountIs('AWS::Lambda::ResourcePolicy', 0); // nothing else may invoke it through IAM
  });

  it('points the function\'s upload Locations at the endpoint, with no service to wake', () => {
    const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[LAMBDA_ENV.uploadOrigin]).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsServerEndpoint/), 'DomainName'] }]] });
    expect(env).not.toHaveProperty(LAMBDA_ENV.uploadEcsCluster);
    expect(env).not.toHaveProperty(LAMBDA_ENV.uploadEcsService);
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.UploadEndpointUrl!.Value).toEqual(env[LAMBDA_ENV.uploadOrigin]);
  });

  it('costs nothing idle: no VPC, load balancer, distribution, cluster or prefix-list lookup, and nothing may update a service', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::CloudFront::Distribution', 'AWS::ECS::Cluster', 'Custom::AWS', 'AWS::EC2::NatGateway']) {
      tpl.resourceCountIs(type, 0);
    }
    expect(JSON.stringify(tpl.toJSON())).not.toContain('ecs:');
  });

  it('uses no AWS managed policy but the logs-only one of CDK\'s emptier of the code bucket, and copies its code with a role of its own', () => {
    const managed = Object.entries(tpl.findResources('AWS::IAM::Role')).filter(([, role]) => role.Properties.ManagedPolicyArns);
    expect(managed.map(([id, role]) => [id, role.Properties.ManagedPolicyArns])).toEqual([[
      expect.stringMatching(/^CustomS3AutoDeleteObjectsCustomResourceProviderRole/),
      [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' }],
    ]]);
    const copy = Object.values(tpl.findResources('AWS::Lambda::Function')).filter((fn) => JSON.stringify(fn.Properties.Role).includes('RegistryUploadsCodeCopyRole'));
    expect(copy).toHaveLength(1);
    expect(copy[0]!.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: expect.stringMatching(/^RegistryUploadsCodeCopyLogs/) } });
  });

  it('is chosen with nimbus:uploadEndpoint=webFunction', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'nimbus:uploadEndpoint': 'webFunction' } });
    const fromContext = Template.fromStack(new RegistryStack(app, 'FromContext', { registry: registryPropsFromContext(app.node) }));
    fromContext.resourceCountIs('AWS::Lambda::WebFunction', 1);
    fromContext.resourceCountIs('AWS::ECS::Service', 0);
  });

  it('takes its concurrency and part size as props', () => {
    const tuned = template({ uploadEndpoint: { kind: 'webFunction', concurrencyPerEnvironment: 8, partSizeMiB: 64 } });
    const config = (only(tuned, 'AWS::Lambda::WebFunctionRevision').Properties as { ServiceConfig: { MaxConcurrencyPerEnvironment: number; EnvironmentVariables: Record<string, unknown> } }).ServiceConfig;
    expect(config.MaxConcurrencyPerEnvironment).toBe(8);
    expect(config.EnvironmentVariables.NIMBUS_PART_SIZE_MIB).toBe('64');
  });
});
