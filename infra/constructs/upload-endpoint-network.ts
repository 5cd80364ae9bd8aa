import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface UploadEndpointNetworkProps {
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays | undefined;
}

/**
 * The upload endpoint's VPC, built to cost nothing while idle: two AZs, public subnets for
 * the task (a public IP instead of a NAT gateway, inbound only from the load balancer),
 * isolated subnets for the private load balancer CloudFront reaches through its VPC
 * origin, free gateway endpoints for S3 and DynamoDB, and flow logs of rejected traffic.
 */
export class UploadEndpointNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: UploadEndpointNetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: 'tasks', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'load-balancer', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('Rejected', { trafficType: ec2.FlowLogTrafficType.REJECT, destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });

    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancer', {
      vpc: this.vpc,
      description: 'Nimbus upload endpoint load balancer: HTTP from CloudFront VPC origin interfaces only',
      allowAllOutbound: false,
    });
    // CloudFront's VPC origin reaches the load balancer through interfaces inside this VPC.
    this.loadBalancerSecurityGroup.addIngressRule(ec2.Peer.ipv4(this.vpc.vpcCidrBlock), ec2.Port.tcp(80), 'CloudFront VPC origin');
    acknowledge(this.loadBalancerSecurityGroup, 'AwsSolutions-EC23',
      'The only ingress is port 80 from this VPC\'s own CIDR (a deploy-time value cdk-nag cannot read), where CloudFront\'s VPC origin interfaces live; the load balancer is internal and has no public address.');
  }
}
