import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../functions/lambda/env';
import { BlobBucket } from './blob-bucket';
import { MetadataTable } from './metadata-table';
import { RegistryApi } from './registry-api';
import { RegistryDomain, type RegistryDomainProps } from './registry-domain';
import { RegistryFunction } from './registry-function';
import { VerifierFunction } from './verifier-function';
import { TokenSigningSecret } from './token-secret';
import { UploadEndpoint, type UploadEndpointOptions } from './upload-endpoint';
import { UploadSecret } from './upload-secret';

export interface NimbusRegistryProps {
  /**
   * Serve the registry on your own domain (docker login registry.example.com).
   * @default none: the API's execute-api host name
   */
  readonly domain?: RegistryDomainProps;
  /**
   * What happens to blobs and metadata when the stack is deleted. With DESTROY, empty
   * the bucket first or the deletion stops at it. @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Turn on DynamoDB deletion protection for the metadata table. @default false */
  readonly tableDeletionProtection?: boolean;
  /** Memory of the registry function, MB; CPU and network scale with it. @default 1024 */
  readonly memorySize?: number;
  /** Retention of function logs and API access logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * API-wide request rates (steady per second, and burst). A push sends one request per
   * chunk of ~4.4 MiB plus a few per layer. @default { rateLimit: 200, burstLimit: 400 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /**
   * Rates for GET and POST /token (logins and token requests), on top of the function's
   * per-name and per-address limits on failed logins. @default { rateLimit: 20, burstLimit: 40 }
   */
  readonly tokenThrottle?: apigwv2.ThrottleSettings;
  /** Lifetime of the presigned S3 URLs blob downloads redirect to, seconds. @default 300 */
  readonly blobRedirectSeconds?: number;
  /**
   * The upload endpoint (infra/constructs/upload-endpoint.ts): upload Locations point at a
   * streaming container behind CloudFront, so unmodified docker, podman and skopeo push
   * layers of any size. About $16.50 a month idle (the load balancer; the task scales to
   * zero), and `cdk deploy` needs Docker to build its image. `false` keeps every upload on
   * the function: no idle cost, but at most ~4.45 MiB per request. @default {} (on)
   */
  readonly uploadEndpoint?: UploadEndpointOptions | false;
  /** Log every blob download in S3 server access logs (kept 90 days). @default true */
  readonly serverAccessLogs?: boolean;
}

/**
 * A complete Nimbus registry: API Gateway HTTP API → Lambda, blobs in S3, metadata (and
 * users and grants) in DynamoDB, the upload-signing and token-signing keys in Secrets
 * Manager. Token auth is always on. Blob bytes never pass through the function:
 * downloads are 307 redirects to presigned S3 URLs.
 */
export class NimbusRegistry extends Construct {
  /** https://<host>, the registry's base URL (the API is at /v2/). */
  readonly url: string;
  /** The host clients log in to and tag images with. */
  readonly host: string;
  readonly blobs: BlobBucket;
  readonly metadata: MetadataTable;
  readonly handler: RegistryFunction;
  /** Verifies direct uploads before their blobs become visible. */
  readonly verifier: VerifierFunction;
  readonly api: RegistryApi;
  readonly domain: RegistryDomain | undefined;
  /** undefined when `uploadEndpoint: false`. */
  readonly uploadEndpoint: UploadEndpoint | undefined;
  /** Seed of the login token signing key; rotate it with put-secret-value. */
  readonly tokenKey: TokenSigningSecret;

  constructor(scope: Construct, id: string, props: NimbusRegistryProps = {}) {
    super(scope, id);
    const dataRemovalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.blobs = new BlobBucket(this, 'Blobs', {
      removalPolicy: dataRemovalPolicy,
      ...(props.serverAccessLogs !== undefined ? { serverAccessLogs: props.serverAccessLogs } : {}),
    });
    this.metadata = new MetadataTable(this, 'Metadata', {
      removalPolicy: dataRemovalPolicy,
      deletionProtection: props.tableDeletionProtection ?? false,
    });
    const uploadKey = new UploadSecret(this, 'UploadKey');
    this.tokenKey = new TokenSigningSecret(this, 'TokenKey');
    this.handler = new RegistryFunction(this, 'Function', {
      bucket: this.blobs.bucket,
      table: this.metadata.table,
      indexNames: this.metadata.indexNames,
      uploadSecret: uploadKey.secret,
      tokenSecret: this.tokenKey.secret,
      logRetention,
      ...(props.memorySize !== undefined ? { memorySize: props.memorySize } : {}),
      ...(props.blobRedirectSeconds !== undefined ? { blobRedirectSeconds: props.blobRedirectSeconds } : {}),
    });
    // Direct uploads (`nimbus push`) are verified in the background, never inside an API request.
    this.verifier = new VerifierFunction(this, 'Verifier', { bucket: this.blobs.bucket, table: this.metadata.table, logRetention });
    this.verifier.grantEnqueue(this.handler.function);
    this.uploadEndpoint = props.uploadEndpoint === false ? undefined : new UploadEndpoint(this, 'Uploads', {
      ...props.uploadEndpoint,
      bucket: this.blobs.bucket,
      table: this.metadata.table,
      uploadSecret: uploadKey.secret,
      logRetention,
    });
    if (this.uploadEndpoint) {
      const fn = this.handler.function;
      fn.addEnvironment(LAMBDA_ENV.uploadOrigin, this.uploadEndpoint.origin);
      fn.addEnvironment(LAMBDA_ENV.uploadEcsCluster, this.uploadEndpoint.cluster.clusterName);
      fn.addEnvironment(LAMBDA_ENV.uploadEcsService, this.uploadEndpoint.service.serviceName);
      this.uploadEndpoint.grantWake(fn);
    }
    this.domain = props.domain ? new RegistryDomain(this, 'Domain', props.domain) : undefined;
    this.api = new RegistryApi(this, 'Http', {
      handler: this.handler.function,
      throttle: props.throttle ?? { rateLimit: 200, burstLimit: 400 },
      ...(props.tokenThrottle ? { tokenThrottle: props.tokenThrottle } : {}),
      logRetention,
      ...(this.domain ? { domainName: this.domain.domainName } : {}),
    });

    const stack = Stack.of(this);
    this.host = props.domain?.domainName ?? `${this.api.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.url = `https://${this.host}`;
    // Login challenges name this URL, never the Host a client sends. The API does not depend on the function: no cycle.
    this.handler.function.addEnvironment(LAMBDA_ENV.publicUrl, this.url);
  }
}
