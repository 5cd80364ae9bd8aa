import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CloudFrontPrefixList } from './cloudfront-prefix-list';

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
  /** The id of CloudFront's origin-facing prefix list, resolved at deploy time. */
  readonly cloudFrontPrefixListId: string;

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
      description: 'Nimbus upload endpoint load balancer: HTTP from CloudFront origin-facing servers only',
      allowAllOutbound: false,
    });
    // CloudFront's VPC origin traffic comes from its origin-facing servers, not from this VPC's
    // CIDR: admitting the CIDR refuses every push (CloudFront answers 504). The managed list
    // counts as 55 rules against the group's quota of 60, so it stays this group's only rule.
    this.cloudFrontPrefixListId = new CloudFrontPrefixList(this, 'CloudFrontOriginFacing', { logRetention: props.logRetention }).prefixListId;
    this.loadBalancerSecurityGroup.addIngressRule(ec2.Peer.prefixList(this.cloudFrontPrefixListId), ec2.Port.tcp(80), 'CloudFront origin-facing servers (VPC origin)');
  }
}
