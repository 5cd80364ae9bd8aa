import { Annotations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import type { RegistryDomainProps } from './registry-domain';
import type { UploadDomainProps } from './upload-domain';
import { UploadEndpoint, type UploadEndpointOptions } from './upload-endpoint';
import { WebFunctionUploadEndpoint, type WebFunctionUploadEndpointOptions } from './web-function-upload-endpoint';

/** What takes upload bodies: a Fargate task behind CloudFront, a Lambda web function, or nothing but the function. */
export const UPLOAD_ENDPOINT_KINDS = ['fargate', 'webFunction', 'off'] as const;
export type UploadEndpointKind = (typeof UPLOAD_ENDPOINT_KINDS)[number];

export interface UploadEndpointChoice extends UploadEndpointOptions, WebFunctionUploadEndpointOptions {
  /**
   * `fargate` until a real deploy has proven the web function (README, "The upload endpoint").
   * @default 'fargate'
   */
  readonly kind?: UploadEndpointKind;
}

export interface CreateUploadEndpointProps {
  readonly choice: UploadEndpointChoice | false | undefined;
  /** The registry function: its upload POSTs answer with Locations on the endpoint. */
  readonly registryFunction: lambda.Function;
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly uploadSecret: secretsmanager.ISecret;
  readonly uploadSessionTtlSeconds: number;
  readonly logRetention: logs.RetentionDays;
  /** The registry's custom domain; the Fargate endpoint takes a name under it. */
  readonly domain?: RegistryDomainProps;
}

/** The upload endpoint of the chosen kind, wired to the registry function; undefined for `off`. */
export function createUploadEndpoint(scope: Construct, id: string, props: CreateUploadEndpointProps): UploadEndpoint | WebFunctionUploadEndpoint | undefined {
  const choice: UploadEndpointChoice = props.choice === false ? { kind: 'off' } : props.choice ?? {};
  const kind = choice.kind ?? 'fargate';
  if (!UPLOAD_ENDPOINT_KINDS.includes(kind)) throw new Error(`uploadEndpoint.kind must be one of ${UPLOAD_ENDPOINT_KINDS.join(', ')}, not "${String(kind)}"`);
  const fn = props.registryFunction;
  const shared = {
    bucket: props.bucket, table: props.table, uploadSecret: props.uploadSecret,
    uploadSessionTtlSeconds: props.uploadSessionTtlSeconds, logRetention: props.logRetention,
  };
  if (kind === 'off') return undefined;
  if (kind === 'webFunction') {
    if (props.domain?.uploadCertificateArn) {
      Annotations.of(scope).addWarningV2('nimbus:upload-certificate-unused',
        'uploadCertificateArn is for the fargate upload endpoint (CloudFront); the web function answers on its own *.on.aws name and ignores it.');
    }
    const endpoint = new WebFunctionUploadEndpoint(scope, id, { ...shared, ...pick(choice, 'concurrencyPerEnvironment', 'partSizeMiB') });
    // The web function scales itself from zero: no ECS service to wake, so no wake settings.
    fn.addEnvironment(LAMBDA_ENV.uploadOrigin, endpoint.origin);
    return endpoint;
  }
  const endpoint = new UploadEndpoint(scope, id, {
    ...shared,
    ...pick(choice, 'idleMinutes', 'cpu', 'memoryLimitMiB', 'partSizeMiB'),
    ...(props.domain ? { domain: uploadDomainOf(props.domain) } : {}),
  });
  fn.addEnvironment(LAMBDA_ENV.uploadOrigin, endpoint.origin);
  fn.addEnvironment(LAMBDA_ENV.uploadEcsCluster, endpoint.cluster.clusterName);
  fn.addEnvironment(LAMBDA_ENV.uploadEcsService, endpoint.service.serviceName);
  endpoint.grantWake(fn);
  return endpoint;
}

/** The Fargate endpoint's own name under the registry's domain. */
export function uploadDomainOf(domain: RegistryDomainProps): UploadDomainProps {
  return {
    domainName: domain.uploadDomainName ?? `uploads.${domain.domainName}`,
    ...(domain.uploadCertificateArn ? { certificateArn: domain.uploadCertificateArn } : {}),
    ...(domain.hostedZone ? { hostedZone: domain.hostedZone } : {}),
  };
}

function pick<T extends object, K extends keyof T>(source: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((key) => source[key] !== undefined).map((key) => [key, source[key]])) as Pick<T, K>;
}
