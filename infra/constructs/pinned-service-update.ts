import * as iam from 'aws-cdk-lib/aws-iam';

/** Tag the upload endpoint's ECS service carries; ecs:UpdateService is granted on it only. */
export const SERVICE_TAG = { key: 'nimbus:component', value: 'upload-endpoint' } as const;

export interface PinnedServiceUpdateProps {
  readonly serviceArn: string;
  readonly clusterArn: string;
  /** The revision the service runs: the only one an update may name. */
  readonly taskDefinitionArn: string;
  /** The subnets the service runs in: the only ones an update may name. */
  readonly subnetIds: string[];
  /** Task CPU units and memory MiB of that revision. */
  readonly cpu: number;
  readonly memoryMiB: number;
}

/**
 * ecs:UpdateService on one service, pinned with every condition key the Service Authorization
 * Reference lists for that action (Amazon ECS, "Actions defined by Amazon Elastic Container
 * Service", UpdateService:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html):
 * aws:ResourceTag, ecs:ResourceTag, ecs:cluster, ecs:task-definition, ecs:enable-execute-command,
 * ecs:enable-ebs-volumes, ecs:enable-service-connect, ecs:enable-vpc-lattice, ecs:namespace,
 * ecs:enable-ecs-managed-tags, ecs:propagate-tags, ecs:capacity-provider, ecs:subnet,
 * ecs:auto-assign-public-ip, ecs:task-cpu and ecs:task-memory.
 *
 * Scaling the service (desiredCount) stays possible: no key describes it. Every key that
 * describes a request parameter is present only when the request sets that parameter, so each
 * is allowed to be absent (…IfExists, ForAllValues, Null) but, when present, must equal what the
 * stack deployed: the same task definition revision (no other image, role or command), ECS Exec
 * off, no EBS volumes, Service Connect or VPC Lattice, no capacity provider (the service uses
 * the FARGATE launch type), the same subnets with a public IP, the same size, no new tag
 * propagation. Switching the task or execution role would also need iam:PassRole, which no
 * role of this stack holds.
 */
export function pinnedServiceUpdate(sid: string, props: PinnedServiceUpdateProps): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['ecs:UpdateService'],
    resources: [props.serviceArn],
    conditions: {
      // aws:ResourceTag is IAM's own and always set for a tagged resource.
      StringEquals: { [`aws:ResourceTag/${SERVICE_TAG.key}`]: SERVICE_TAG.value },
      // ECS's older tag key and the cluster key are pinned too, but allowed to be absent: the
      // reference does not say ECS sets them on every UpdateService, a wake must not fail
      // for want of one, and the resource ARN already names this cluster.
      ArnEqualsIfExists: { 'ecs:cluster': props.clusterArn, 'ecs:task-definition': props.taskDefinitionArn },
      StringEqualsIfExists: {
        [`ecs:ResourceTag/${SERVICE_TAG.key}`]: SERVICE_TAG.value,
        'ecs:enable-execute-command': 'false',
        'ecs:enable-ebs-volumes': 'false',
        'ecs:enable-service-connect': 'false',
        'ecs:enable-vpc-lattice': 'false',
        'ecs:propagate-tags': 'NONE',
      },
      BoolIfExists: { 'ecs:enable-ecs-managed-tags': 'false', 'ecs:auto-assign-public-ip': 'true' },
      NumericEqualsIfExists: { 'ecs:task-cpu': String(props.cpu), 'ecs:task-memory': String(props.memoryMiB) },
      'ForAllValues:StringEquals': { 'ecs:subnet': props.subnetIds },
      Null: { 'ecs:capacity-provider': 'true', 'ecs:namespace': 'true' },
    },
  });
}
