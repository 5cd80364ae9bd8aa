import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { registryPropsFromContext } from '../../infra/context';
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST } from '../../infra/constructs/cloudfront-prefix-list';
import { ERROR_STATUSES } from '../../infra/constructs/upload-distribution';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { actionsOf, only, registryFunction, statementsBySid, statementsOfRole, template } from './stacks';

const tpl = template();
const resources = (type: string) => Object.entries(tpl.findResources(type));
const idOf = (type: string, prefix: RegExp) => {
  const found = resources(type).filter(([id]) => prefix.test(id));
  if (found.length !== 1) throw new Error(`expected one ${type} matching ${prefix}, found ${found.length}`);
  return found[0]![0];
};
const serviceArn = expect.objectContaining({ 'Fn::Join': ['', expect.arrayContaining([':service/', { Ref: expect.stringMatching(/^RegistryUploadsCluster/) }, '/uploads'])] });
const TASK_ROLE = /^RegistryUploadsTaskTaskRole/;
const FUNCTION_ROLE = /^RegistryFunctionRole/;

describe('upload endpoint (fargate, the default)', () => {
  const config = only(tpl, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as {
    DefaultCacheBehavior: unknown; ViewerCertificate?: unknown; Origins: Array<{ VpcOriginConfig?: Record<string, unknown> }>;
    CustomErrorResponses: Array<Record<string, unknown>>;
  };

  it('serves HTTPS only through CloudFront, uncached, every method, every header and query string', () => {
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
      Compress: false,
    });
    expect(config.ViewerCertificate).toBeUndefined(); // *.cloudfront.net without a domain
    expect(config.Origins).toHaveLength(1);
  });

  it('caches no error, so a wake probe never sees a stale 502, 503 or 504', () => {
    expect(config.CustomErrorResponses).toEqual(ERROR_STATUSES.map((code) => ({ ErrorCode: code, ErrorCachingMinTTL: 0 })));
    for (const code of [502, 503, 504]) expect(config.CustomErrorResponses).toContainEqual({ ErrorCode: code, ErrorCachingMinTTL: 0 });
  });

  it('waits the longest the default quota allows for the origin, closes idle connections before the load balancer does, and sets no total', () => {
    const origin = config.Origins[0]!.VpcOriginConfig!;
    expect(origin).toMatchObject({ OriginReadTimeout: 120, OriginKeepaliveTimeout: 60 });
    expect(origin.OriginReadTimeout).toBeLessThanOrEqual(120);
    const alb = only(tpl, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties as { LoadBalancerAttributes: Array<{ Key: string; Value: string }> };
    const idle = Number(alb.LoadBalancerAttributes.find((a) => a.Key === 'idle_timeout.timeout_seconds')!.Value);
    expect(origin.OriginKeepaliveTimeout).toBeLessThan(idle);
    expect(JSON.stringify(config.Origins)).not.toContain('ResponseCompletionTimeout');
  });

  it('admits to the load balancer only CloudFront\'s origin-facing prefix list, resolved at deploy time', () => {
    const alb = only(tpl, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties;
    expect(alb.Scheme).toBe('internal');
    const origin = only(tpl, 'AWS::CloudFront::VpcOrigin').Properties.VpcOriginEndpointConfig as Record<string, unknown>;
    expect(origin).toMatchObject({ OriginProtocolPolicy: 'http-only', HTTPPort: 80, Arn: { Ref: expect.stringMatching(/^RegistryUploadsLoadBalancer/) } });

    const lookupId = idOf('Custom::AWS', /^RegistryUploadsNetworkCloudFrontOriginFacingLookup/);
    const albGroupId = idOf('AWS::EC2::SecurityGroup', /^RegistryUploadsNetworkLoadBalancer/);
    expect(tpl.toJSON().Resources[albGroupId].Properties).not.toHaveProperty('SecurityGroupIngress');
    const rules = resources('AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify({ 'Fn::GetAtt': [albGroupId, 'GroupId'] }));
    expect(rules).toEqual([{
      IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Description: expect.any(String),
      GroupId: { 'Fn::GetAtt': [albGroupId, 'GroupId'] },
      SourcePrefixListId: { 'Fn::GetAtt': [lookupId, 'PrefixLists.0.PrefixListId'] },
    }]);
  });

  it('resolves the prefix list by name with ec2:DescribeManagedPrefixLists and nothing else, on create and on update', () => {
    const lookup = tpl.toJSON().Resources[idOf('Custom::AWS', /^RegistryUploadsNetworkCloudFrontOriginFacingLookup/)].Properties as Record<string, string | boolean>;
    for (const phase of ['Create', 'Update']) {
      expect(JSON.parse(lookup[phase] as string)).toEqual({
        service: 'EC2', action: 'DescribeManagedPrefixLists',
        parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
        physicalResourceId: { responsePath: 'PrefixLists.0.PrefixListId' },
        outputPaths: ['PrefixLists.0.PrefixListId'],
      });
    }
    expect(lookup.InstallLatestAwsSdk).toBe(false); // no npm install at deploy time
    const role = /^RegistryUploadsNetworkCloudFrontOriginFacingRole/;
    const policies = Object.values(tpl.findResources('AWS::IAM::Policy'))
      .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((ref) => role.test(ref.Ref)));
    const statements = policies.flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(['ec2:DescribeManagedPrefixLists', 'logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('lets the load balancer reach only the tasks\' port, the tasks admit only the load balancer, and uses no NAT gateway', () => {
    const albGroup = { 'Fn::GetAtt': [idOf('AWS::EC2::SecurityGroup', /^RegistryUploadsNetworkLoadBalancer/), 'GroupId'] };
    const taskGroup = { 'Fn::GetAtt': [idOf('AWS::EC2::SecurityGroup', /^RegistryUploadsServiceSecurityGroup/), 'GroupId'] };
    expect(resources('AWS::EC2::SecurityGroupEgress').map(([, rule]) => rule.Properties)).toEqual([
      expect.objectContaining({ GroupId: albGroup, DestinationSecurityGroupId: taskGroup, IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080 }),
    ]);
    const ingress = resources('AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties);
    expect(ingress.filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify(taskGroup))).toEqual([
      expect.objectContaining({ SourceSecurityGroupId: albGroup, IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080 }),
    ]);
    // Every ingress rule of the stack: the tasks' from the load balancer, the load balancer's from the prefix list.
    expect(ingress).toHaveLength(2);
    for (const [, group] of resources('AWS::EC2::SecurityGroup')) {
      for (const rule of (group.Properties as { SecurityGroupIngress?: Array<{ CidrIp?: unknown }> }).SecurityGroupIngress ?? []) expect(rule.CidrIp).toBeUndefined();
    }
    tpl.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  it('grants the task its bucket prefixes, upload items, key and own service only', () => {
    const sids = statementsBySid(tpl, TASK_ROLE);
    const bucketArn = { 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] };
    expect(Object.keys(sids).sort()).toEqual([
      'BlobItems', 'CacheFillCredentials', 'CacheFillLeases', 'CacheRules', 'GcReviewItems', 'ScaleToZero', 'StagedTailListing', 'UploadKey', 'UploadObjects', 'UploadSessionItems',
    ]);
    // Pull-through cache fills read upstream credentials under the stack's cache/ prefix, never write them.
    expect(sids.CacheFillCredentials).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:nimbus/Nimbus/cache/*']] },
    });
    expect(sids.UploadObjects!.Action).toEqual(['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']);
    expect(sids.UploadObjects!.Resource).toEqual([{ 'Fn::Join': ['', [bucketArn, '/blobs/*']] }, { 'Fn::Join': ['', [bucketArn, '/staging/*']] }]);
    expect(sids.StagedTailListing).toMatchObject({ Action: 's3:ListBucket', Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['staging/*'] } } });
    expect(sids.UploadKey).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: expect.stringMatching(/^RegistryUploadKey/) } });
    for (const statement of statementsOfRole(tpl, TASK_ROLE)) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
      expect(statement.Resource).not.toBe('*');
    }
  });

  for (const [who, role, sid] of [['the task (scale to zero)', TASK_ROLE, 'ScaleToZero'], ['the registry function (wake)', FUNCTION_ROLE, 'WakeUploadEndpoint']] as const) {
    it(`pins ecs:UpdateService of ${who} to this service, its task definition and settings, without ECS Exec`, () => {
      const statement = statementsBySid(tpl, role)[sid]!;
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: serviceArn });
      const subnets = resources('AWS::EC2::Subnet').filter(([id]) => /^RegistryUploadsNetworkVpctasks/.test(id)).map(([id]) => ({ Ref: id }));
      expect(subnets).toHaveLength(2);
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/nimbus:component': 'upload-endpoint' },
        ArnEqualsIfExists: {
          'ecs:cluster': { 'Fn::GetAtt': [idOf('AWS::ECS::Cluster', /^RegistryUploadsCluster/), 'Arn'] },
          'ecs:task-definition': { Ref: idOf('AWS::ECS::TaskDefinition', /^RegistryUploadsTask/) },
        },
        StringEqualsIfExists: {
          'ecs:ResourceTag/nimbus:component': 'upload-endpoint',
          'ecs:enable-execute-command': 'false', 'ecs:enable-ebs-volumes': 'false', 'ecs:enable-service-connect': 'false',
          'ecs:enable-vpc-lattice': 'false', 'ecs:propagate-tags': 'NONE',
        },
        BoolIfExists: { 'ecs:enable-ecs-managed-tags': 'false', 'ecs:auto-assign-public-ip': 'true' },
        NumericEqualsIfExists: { 'ecs:task-cpu': '512', 'ecs:task-memory': '1024' },
        'ForAllValues:StringEquals': { 'ecs:subnet': subnets },
        Null: { 'ecs:capacity-provider': 'true', 'ecs:namespace': 'true' },
      });
    });
  }

  it('tags the service the ecs:UpdateService conditions name, and runs it without ECS Exec or extra tags', () => {
    const service = only(tpl, 'AWS::ECS::Service').Properties;
    expect(service.Tags).toEqual([{ Key: 'nimbus:component', Value: 'upload-endpoint' }]);
    expect(service.EnableExecuteCommand).not.toBe(true);
    expect(service).not.toHaveProperty('PropagateTags');
    expect(service).not.toHaveProperty('CapacityProviderStrategy');
    const taskDefinition = only(tpl, 'AWS::ECS::TaskDefinition').Properties;
    expect(taskDefinition).toMatchObject({ Cpu: '512', Memory: '1024' });
  });

  it('points the function\'s upload Locations at the distribution, tells it the service to wake and the session TTL', () => {
    const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[LAMBDA_ENV.uploadOrigin]).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsDistribution/), 'DomainName'] }]] });
    expect(env[LAMBDA_ENV.uploadEcsCluster]).toEqual({ Ref: expect.stringMatching(/^RegistryUploadsCluster/) });
    expect(env[LAMBDA_ENV.uploadEcsService]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsService/), 'Name'] });
    expect(env[LAMBDA_ENV.uploadSessionTtlSeconds]).toBe('86400');
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
    expect(env).toMatchObject({ NIMBUS_IDLE_SHUTDOWN_MINUTES: '15', NIMBUS_ECS_SERVICE: 'uploads', NIMBUS_PART_SIZE_MIB: '16', [LAMBDA_ENV.uploadSessionTtlSeconds]: '86400' });
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString/);
  });
});

describe('upload endpoint turned off', () => {
  const off = template({ uploadEndpoint: false });

  it('deploys no VPC, cluster, load balancer, distribution or web function, and keeps uploads on the function', () => {
    for (const type of ['AWS::EC2::VPC', 'AWS::ECS::Cluster', 'AWS::ECS::Service', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::CloudFront::Distribution', 'AWS::Lambda::WebFunction', 'Custom::AWS']) {
      off.resourceCountIs(type, 0);
    }
    const env = (registryFunction(off).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).not.toHaveProperty(LAMBDA_ENV.uploadOrigin);
    expect(JSON.stringify(off.toJSON())).not.toContain('ecs:UpdateService');
    expect(template({ uploadEndpoint: { kind: 'off' } }).toJSON()).toEqual(off.toJSON());
  });

  it('is chosen from cdk.json context: fargate, webFunction or off, and true or false as before', () => {
    const kind = (value: string) => registryPropsFromContext(new App({ context: { 'nimbus:uploadEndpoint': value } }).node);
    expect(kind('false')).toEqual({ uploadEndpoint: false });
    expect(kind('off')).toEqual({ uploadEndpoint: false });
    expect(kind('true')).toEqual({});
    expect(kind('fargate')).toEqual({});
    expect(kind('webFunction')).toEqual({ uploadEndpoint: { kind: 'webFunction' } });
    expect(() => kind('lambda')).toThrow(/fargate, webFunction, off \(or true, false\)/);
  });
});
