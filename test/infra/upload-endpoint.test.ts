import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { registryPropsFromContext } from '../../infra/context';
import { LAMBDA_ENV } from '../../functions/lambda/env';
import { only, policyOfRole, template, registryFunction } from './stacks';

interface Statement { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }

const tpl = template();
const resources = (type: string) => Object.entries(tpl.findResources(type));
const statementsOf = (role: RegExp) => (policyOfRole(tpl, role).Properties.PolicyDocument as { Statement: Statement[] }).Statement;
const bySid = (role: RegExp) => Object.fromEntries(statementsOf(role).map((statement) => [statement.Sid, statement]));
const serviceArn = expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':service/', { Ref: expect.stringMatching(/^RegistryUploadsCluster/) }, '/uploads'])] });

describe('upload endpoint (on by default)', () => {
  it('serves HTTPS only through CloudFront, uncached, every method, every header and query string', () => {
    const config = only(tpl, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as {
      DefaultCacheBehavior: unknown; ViewerCertificate?: unknown; Origins: Array<{ VpcOriginConfig?: unknown }>;
    };
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
      Compress: false,
    });
    expect(config.ViewerCertificate).toBeUndefined(); // *.cloudfront.net
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0]!.VpcOriginConfig).toMatchObject({ OriginReadTimeout: 60 });
  });

  it('keeps the load balancer private: internal, isolated subnets, port 80 from the VPC only', () => {
    const alb = only(tpl, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties;
    expect(alb.Scheme).toBe('internal');
    const origin = only(tpl, 'AWS::CloudFront::VpcOrigin').Properties.VpcOriginEndpointConfig as Record<string, unknown>;
    expect(origin).toMatchObject({ OriginProtocolPolicy: 'http-only', HTTPPort: 80, Arn: { Ref: expect.stringMatching(/^RegistryUploadsLoadBalancer/) } });
    const groups = resources('AWS::EC2::SecurityGroup').map(([id, group]) => [id, group.Properties as { SecurityGroupIngress?: Array<Record<string, unknown>> }] as const);
    const albGroup = groups.find(([id]) => id.startsWith('RegistryUploadsNetworkLoadBalancer'))![1];
    expect(albGroup.SecurityGroupIngress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsNetworkVpc/), 'CidrBlock'] } }),
    ]);
  });

  it('lets only the load balancer reach the task, and uses no NAT gateway', () => {
    const ingress = resources('AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties as Record<string, unknown>);
    expect(ingress).toEqual([expect.objectContaining({
      FromPort: 8080, ToPort: 8080,
      GroupId: { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsServiceSecurityGroup/), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsNetworkLoadBalancer/), 'GroupId'] },
    })]);
    for (const group of resources('AWS::EC2::SecurityGroup')) {
      for (const rule of (group[1].Properties as { SecurityGroupIngress?: Array<{ CidrIp?: unknown }> }).SecurityGroupIngress ?? []) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    }
    tpl.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  it('grants the task its bucket prefixes, table, key and own service only', () => {
    const sids = bySid(/^RegistryUploadsTaskTaskRole/);
    const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] };
    expect(sids.UploadObjects!.Action).toEqual(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']);
    expect(sids.UploadObjects!.Resource).toEqual([
      { 'Fn::Join': ['', [bucketArn, '/blobs/*']] },
      { 'Fn::Join': ['', [bucketArn, '/staging/*']] },
    ]);
    expect(sids.StagedTailListing).toMatchObject({ Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['staging/*'] } } });
    expect(sids.UploadSessions).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RegistryMetadataTable/), 'Arn'] },
    });
    expect(sids.UploadKey).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: expect.stringMatching(/^RegistryUploadKey/) } });
    expect(sids.ScaleToZero).toMatchObject({ Action: 'ecs:UpdateService', Resource: serviceArn });
    for (const statement of statementsOf(/^RegistryUploadsTaskTaskRole/)) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/\*/);
      expect(statement.Resource).not.toBe('*');
    }
  });

  it('points the function\'s upload Locations at the distribution and lets it start the service', () => {
    const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[LAMBDA_ENV.uploadOrigin]).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsDistribution/), 'DomainName'] }]] });
    expect(env[LAMBDA_ENV.uploadEcsCluster]).toEqual({ Ref: expect.stringMatching(/^RegistryUploadsCluster/) });
    expect(env[LAMBDA_ENV.uploadEcsService]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsService/), 'Name'] });
    expect(bySid(/^RegistryFunctionRole/).WakeUploadEndpoint).toMatchObject({ Action: 'ecs:UpdateService', Resource: serviceArn });
  });

  it('runs an arm64 task with a read-only root that scales itself to zero, and deploys keep its count', () => {
    const service = only(tpl, 'AWS::ECS::Service').Properties;
    expect(service).not.toHaveProperty('DesiredCount');
    expect(service).toMatchObject({ ServiceName: 'uploads', LaunchType: 'FARGATE' });
    const task = only(tpl, 'AWS::ECS::TaskDefinition').Properties as { RuntimePlatform: unknown; ContainerDefinitions: Array<{ ReadonlyRootFilesystem?: boolean; Environment: Array<{ Name: string; Value: unknown }> }> };
    expect(task.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const [container] = task.ContainerDefinitions;
    expect(container!.ReadonlyRootFilesystem).toBe(true);
    const env = Object.fromEntries(container!.Environment.map((entry) => [entry.Name, entry.Value]));
    expect(env).toMatchObject({ NIMBUS_IDLE_SHUTDOWN_MINUTES: '15', NIMBUS_ECS_SERVICE: 'uploads', NIMBUS_PART_SIZE_MIB: '16' });
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString/);
  });
});

describe('upload endpoint turned off', () => {
  const off = template({ uploadEndpoint: false });

  it('deploys no VPC, cluster, load balancer or distribution, and keeps uploads on the function', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::ECS::Cluster', 'AWS::ECS::Service', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::CloudFront::Distribution']) {
      off.resourceCountIs(type, 0);
    }
    const env = (registryFunction(off).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).not.toHaveProperty(LAMBDA_ENV.uploadOrigin);
    expect(JSON.stringify(off.toJSON())).not.toContain('ecs:UpdateService');
  });

  it('is turned off from cdk.json context with nimbus:uploadEndpoint=false, and refuses other words', () => {
    expect(registryPropsFromContext(new App({ context: { 'nimbus:uploadEndpoint': 'false' } }).node)).toEqual({ uploadEndpoint: false });
    expect(registryPropsFromContext(new App({ context: { 'nimbus:uploadEndpoint': 'true' } }).node)).toEqual({});
    expect(() => registryPropsFromContext(new App({ context: { 'nimbus:uploadEndpoint': 'off' } }).node)).toThrow(/true or false/);
  });
});
