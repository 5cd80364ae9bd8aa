import { Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { pinnedServiceUpdate, SERVICE_TAG } from './pinned-service-update';
import { uploadDistribution } from './upload-distribution';
import type { UploadDomainProps, UploadViewerDomain } from './upload-domain';
import { UPLOAD_ENDPOINT_PORT, uploadEndpointImage } from './upload-endpoint-image';
import { UploadEndpointNetwork } from './upload-endpoint-network';
import { grantUploadData, uploadServerEnvironment } from './upload-grants';

export interface UploadEndpointOptions {
  /**
   * Minutes without requests after which the endpoint scales itself to zero tasks; the
   * next upload POST starts it again (a cold start takes about a minute, which docker's
   * retries cover). 0 keeps one task running. Fargate only. @default 15
   */
  readonly idleMinutes?: number;
  /** Task CPU units (1024 = 1 vCPU, Graviton). Fargate only. @default 512 */
  readonly cpu?: number;
  /** Task memory, MiB: each upload in flight needs about twice the part size. Fargate only. @default 1024 */
  readonly memoryLimitMiB?: number;
  /** S3 part size, MiB (5 to 512). @default 16 */
  readonly partSizeMiB?: number;
}

export interface UploadEndpointProps extends UploadEndpointOptions {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly uploadSecret: secretsmanager.ISecret;
  /** Seconds an idle upload session lives, as the registry function is told. */
  readonly uploadSessionTtlSeconds: number;
  /** A host name of its own, with a us-east-1 certificate. @default *.cloudfront.net */
  readonly domain?: UploadDomainProps;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** The service's name, fixed so the function and the task can name it without a cycle; the cluster is this construct's own. */
const SERVICE_NAME = 'uploads';

/**
 * The upload endpoint: the registry's upload-session routes on a long-running Node
 * process (functions/upload-server) that streams request bodies of any size into S3
 * parts. HTTPS comes from CloudFront, which reaches a private Application Load Balancer
 * through a VPC origin; the load balancer admits CloudFront's origin-facing servers only and
 * forwards to one ECS Fargate task (arm64), which scales itself to zero when idle. No NAT
 * gateway: tasks reach AWS APIs through their public IP (inbound only from the load
 * balancer) and S3 and DynamoDB through gateway endpoints.
 */
export class UploadEndpoint extends Construct {
  readonly kind = 'fargate' as const;
  /** https://<distribution or custom name>: where upload Locations point. */
  readonly origin: string;
  readonly cluster: ecs.Cluster;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly distribution: cloudfront.Distribution;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly network: UploadEndpointNetwork;
  /** The custom name the distribution serves, when it has a certificate for it. */
  readonly viewerDomain: UploadViewerDomain | undefined;
  /** arn:…:service/<cluster>/uploads, for ecs:UpdateService. */
  readonly serviceArn: string;

  constructor(scope: Construct, id: string, props: UploadEndpointProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const idleMinutes = props.idleMinutes ?? 15;
    this.network = new UploadEndpointNetwork(this, 'Network', { logRetention: props.logRetention });
    const { vpc } = this.network;

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc });
    this.serviceArn = stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${this.cluster.clusterName}/${SERVICE_NAME}` });
    acknowledge(this.cluster, 'AwsSolutions-ECS4',
      'Container Insights bills metrics per task; this cluster runs one short-lived task at most, whose request log lines and the load balancer\'s metrics already show its health.');

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    this.taskDefinition.addContainer('UploadServer', {
      image: uploadEndpointImage(this),
      portMappings: [{ containerPort: UPLOAD_ENDPOINT_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'upload-endpoint' }),
      readonlyRootFilesystem: true,
      // ECS's longest grace: uploads in flight finish before the task stops.
      stopTimeout: Duration.seconds(120),
      environment: {
        ...uploadServerEnvironment(props),
        NIMBUS_IDLE_SHUTDOWN_MINUTES: String(idleMinutes),
        NIMBUS_ECS_CLUSTER: this.cluster.clusterName,
        NIMBUS_ECS_SERVICE: SERVICE_NAME,
        AWS_REGION: stack.region,
      },
    });
    acknowledge(this.taskDefinition.obtainExecutionRole(), 'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions; the image pull itself is granted on this one repository and logs on this one group.');
    acknowledge(this.taskDefinition, 'AwsSolutions-ECS2',
      'The environment holds names only (table, bucket, secret ARN, cluster, service, part size, session TTL); the upload key itself is read from Secrets Manager at start and never appears in the task definition.');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      serviceName: SERVICE_NAME,
      taskDefinition: this.taskDefinition,
      // No desired count in the template: deploys keep whatever the endpoint scaled itself to.
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      minHealthyPercent: 0,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });
    Tags.of(this.service).add(SERVICE_TAG.key, SERVICE_TAG.value, { includeResourceTypes: ['AWS::ECS::Service'] });
    grantUploadData(this.taskDefinition.taskRole, props);
    this.taskDefinition.taskRole.addToPrincipalPolicy(this.updateServiceStatement('ScaleToZero'));

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroup: this.network.loadBalancerSecurityGroup,
      // Past the last byte of a body the task still writes one part: allow for a slow one.
      idleTimeout: Duration.seconds(120),
      dropInvalidHeaderFields: true,
    });
    acknowledge(this.loadBalancer, 'AwsSolutions-ELB2',
      'Only CloudFront reaches this private load balancer, and the upload task logs every request (path only: upload URLs carry capabilities in their query, which access logs would keep).');
    const listener = this.loadBalancer.addListener('Http', { port: 80, protocol: elbv2.ApplicationProtocol.HTTP, open: false });
    // Also opens the load balancer's group to the tasks' port (egress) and the tasks' group to
    // the load balancer (ingress): the tasks admit nothing else.
    listener.addTargets('Tasks', {
      port: UPLOAD_ENDPOINT_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      deregistrationDelay: Duration.seconds(10),
      healthCheck: { path: '/healthz', interval: Duration.seconds(5), timeout: Duration.seconds(2), healthyThresholdCount: 2 },
    });

    const cdn = uploadDistribution(this, { loadBalancer: this.loadBalancer, ...(props.domain ? { domain: props.domain } : {}) });
    this.distribution = cdn.distribution;
    this.viewerDomain = cdn.viewerDomain;
    this.origin = cdn.origin;
  }

  /** Lets the registry function start the endpoint (desired count 1) on the first upload POST, and change nothing else. */
  grantWake(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(this.updateServiceStatement('WakeUploadEndpoint'));
  }

  private updateServiceStatement(sid: string): iam.PolicyStatement {
    return pinnedServiceUpdate(sid, {
      serviceArn: this.serviceArn,
      clusterArn: this.cluster.clusterArn,
      taskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      subnetIds: this.network.vpc.publicSubnets.map((subnet) => subnet.subnetId),
      cpu: this.taskDefinition.cpu,
      memoryMiB: this.taskDefinition.memoryMiB,
    });
  }
}
