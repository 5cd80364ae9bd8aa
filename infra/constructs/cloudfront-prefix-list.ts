import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

/**
 * The AWS-managed prefix list of CloudFront's origin-facing servers, the source CloudFront's
 * VPC origins reach a load balancer from (CloudFront Developer Guide, "Restrict access with VPC
 * origins"; aws-cloudfront-origins README, "Restrict traffic coming to the VPC origin").
 */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = 'com.amazonaws.global.cloudfront.origin-facing';

export interface CloudFrontPrefixListProps {
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays | undefined;
}

/**
 * The id of the CloudFront origin-facing prefix list in the stack's region (pl-…; it differs
 * per region), looked up at deploy time by ec2:DescribeManagedPrefixLists with a name filter.
 * A context lookup (ec2.PrefixList.fromLookup) would need AWS credentials at synth, and
 * `cdk synth` stays offline. AWS keeps the list's contents current; its id never changes.
 */
export class CloudFrontPrefixList extends Construct {
  readonly prefixListId: string;

  constructor(scope: Construct, id: string, props: CloudFrontPrefixListProps = {}) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus: reads the id of CloudFront\'s origin-facing prefix list at deploy time',
    });
    role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const call: cr.AwsSdkCall = {
      service: 'EC2',
      action: 'DescribeManagedPrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST] }] },
      physicalResourceId: cr.PhysicalResourceId.fromResponse('PrefixLists.0.PrefixListId'),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    };
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      onCreate: call,
      onUpdate: call,
      role,
      logGroup,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({
        sid: 'DescribePrefixLists',
        // Describe* calls of EC2 take no resource-level permissions: "*" is the only resource.
        actions: ['ec2:DescribeManagedPrefixLists'],
        resources: ['*'],
      })]),
    });
    this.prefixListId = lookup.getResponseField('PrefixLists.0.PrefixListId');
    acknowledge(this, 'AwsSolutions-IAM5[Resource::*]',
      'ec2:DescribeManagedPrefixLists has no resource-level permissions, so it is granted on "*"; it is the role\'s only action besides writing its own log group, and it reads public AWS-managed list metadata only.');
  }
}
