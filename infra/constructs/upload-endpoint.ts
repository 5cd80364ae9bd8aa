import { CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { BUCKET_PREFIXES } from '../../functions/adapters/aws/table-schema';
import { LAMBDA_ENV } from '../../functions/lambda/env';
import { acknowledge } from './nag';
import { UPLOAD_ENDPOINT_PORT, uploadEndpointImage } from './upload-endpoint-image';
import { UploadEndpointNetwork } from './upload-endpoint-network';

export interface UploadEndpointOptions {
  /**
   * Minutes without requests after which the endpoint scales itself to zero tasks; the
   * next upload POST starts it again (a cold start takes about a minute, which docker's
   * retries cover). 0 keeps one task running. @default 15
   */
  readonly idleMinutes?: number;
  /** Task CPU units (1024 = 1 vCPU, Graviton). @default 512 */
  readonly cpu?: number;
  /** Task memory, MiB: each upload in flight needs about twice the part size. @default 1024 */
  readonly memoryLimitMiB?: number;
  /** S3 part size, MiB (5 to 512). @default 16 */
  readonly partSizeMiB?: number;
}

export interface UploadEndpointProps extends UploadEndpointOptions {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly uploadSecret: secretsmanager.ISecret;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** The service's name, fixed so the function and the task can name it without a cycle; the cluster is this construct's own. */
const SERVICE_NAME = 'uploads';

/**
 * The upload endpoint: the registry's upload-session routes on a long-running Node
 * process (functions/upload-server) that streams request bodies of any size into S3
 * parts. HTTPS comes from CloudFront (*.cloudfront.net), which reaches a private
 * Application Load Balancer through a VPC origin; the load balancer forwards to one ECS
 * Fargate task (arm64), which scales itself to zero when idle. No NAT gateway: tasks
 * reach AWS APIs through their public IP (inbound only from the load balancer) and
 * S3 and DynamoDB through gateway endpoints.
 */
export class UploadEndpoint extends Construct {
  /** https://<distribution>.cloudfront.net: where upload Locations point. */
  readonly origin: string;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly distribution: cloudfront.Distribution;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** arn:…:service/<cluster>/uploads, for ecs:UpdateService. */
  readonly serviceArn: string;

  constructor(scope: Construct, id: string, props: UploadEndpointProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const idleMinutes = props.idleMinutes ?? 15;
    const network = new UploadEndpointNetwork(this, 'Network', { logRetention: props.logRetention });
    const { vpc } = network;

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc });
    this.serviceArn = stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${this.cluster.clusterName}/${SERVICE_NAME}` });
    acknowledge(this.cluster, 'AwsSolutions-ECS4',
      'Container Insights bills metrics per task; this cluster runs one short-lived task at most, whose request log lines and the load balancer\'s metrics already show its health.');

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    taskDefinition.addContainer('UploadServer', {
      image: uploadEndpointImage(this),
      portMappings: [{ containerPort: UPLOAD_ENDPOINT_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'upload-endpoint' }),
      readonlyRootFilesystem: true,
      // ECS's longest grace: uploads in flight finish before the task stops.
      stopTimeout: Duration.seconds(120),
      environment: {
        [LAMBDA_ENV.table]: props.table.tableName,
        [LAMBDA_ENV.bucket]: props.bucket.bucketName,
        [LAMBDA_ENV.uploadSecretArn]: props.uploadSecret.secretArn,
        NIMBUS_PART_SIZE_MIB: String(props.partSizeMiB ?? 16),
        NIMBUS_IDLE_SHUTDOWN_MINUTES: String(idleMinutes),
        NIMBUS_ECS_CLUSTER: this.cluster.clusterName,
        NIMBUS_ECS_SERVICE: SERVICE_NAME,
        AWS_REGION: stack.region,
      },
    });
    acknowledge(taskDefinition.obtainExecutionRole(), 'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions; the image pull itself is granted on this one repository and logs on this one group.');
    acknowledge(taskDefinition, 'AwsSolutions-ECS2',
      'The environment holds names only (table, bucket, secret ARN, cluster, service, part size); the upload key itself is read from Secrets Manager at start and never appears in the task definition.');
    this.grantTask(taskDefinition.taskRole, props);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      serviceName: SERVICE_NAME,
      taskDefinition,
      // No desired count in the template: deploys keep whatever the endpoint scaled itself to.
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroup: network.loadBalancerSecurityGroup,
      // Past the last byte of a body the task still writes one part: allow for a slow one.
      idleTimeout: Duration.seconds(120),
      dropInvalidHeaderFields: true,
    });
    acknowledge(this.loadBalancer, 'AwsSolutions-ELB2',
      'Only CloudFront reaches this private load balancer, and the upload task logs every request (path only: upload URLs carry capabilities in their query, which access logs would keep).');
    const listener = this.loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false });
    listener.addTargets('Tasks', {
      port: UPLOAD_ENDPOINT_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      deregistrationDelay: Duration.seconds(10),
      healthCheck: { path: '/healthz', interval: Duration.seconds(5), timeout: Duration.seconds(2), healthyThresholdCount: 2 },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Nimbus upload endpoint: streams layer uploads to the upload task',
      defaultBehavior: {
        origin: origins.VpcOrigin.withApplicationLoadBalancer(this.loadBalancer, {
          httpPort: 80,
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
          // The task answers within seconds of a body's last byte; 60 s is CloudFront's default maximum.
          readTimeout: Duration.seconds(60),
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: false,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2,
    });
    acknowledge(this.distribution, 'AwsSolutions-CFR1',
      'A registry\'s pushes come from wherever its users and CI run; every request is already bound to one upload session by its signed, expiring capability.');
    acknowledge(this.distribution, 'AwsSolutions-CFR2',
      'Requests without a valid upload capability are refused by the task before any byte is stored; a web ACL would add a monthly fee and cannot inspect multi-hundred-MB bodies.');
    acknowledge(this.distribution, 'AwsSolutions-CFR3',
      'Upload URLs carry their capability in the query string, which standard logs would record; the upload task logs every request without it.');
    acknowledge(this.distribution, 'AwsSolutions-CFR4',
      'The endpoint uses the default *.cloudfront.net certificate (no custom domain is needed: clients only follow the Locations the registry hands out), for which CloudFront sets the TLS policy itself.');

    this.origin = `https://${this.distribution.distributionDomainName}`;
  }

  /** Lets the registry function start the endpoint (desired count 1) on the first upload POST. */
  grantWake(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WakeUploadEndpoint', actions: ['ecs:UpdateService'], resources: [this.serviceArn],
    }));
  }

  private grantTask(role: iam.IRole, props: UploadEndpointProps): void {
    const { bucket, table, uploadSecret } = props;
    const prefixes = [BUCKET_PREFIXES.blobs, BUCKET_PREFIXES.staging];
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'UploadObjects',
      // PutObject covers multipart create, upload-part and complete; GetObject reads staged tails back.
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'StagedTailListing',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${BUCKET_PREFIXES.staging}*`] } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'UploadSessions',
      // Sessions, blob records and links: single-item reads and conditional writes only.
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources: [table.tableArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'UploadKey', actions: ['secretsmanager:GetSecretValue'], resources: [uploadSecret.secretArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ScaleToZero', actions: ['ecs:UpdateService'], resources: [this.serviceArn] }));
    for (const prefix of prefixes) {
      acknowledge(role, `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/${prefix}*]`,
        'Blob and staged-tail object keys are created per upload at run time, so object actions are granted on the blobs/ and staging/ prefixes of this one bucket; no other prefix, bucket or bucket administration.');
    }
  }
}

/** The CloudFormation logical id of a construct's main resource, as cdk-nag names it in findings. */
function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
}
