import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BlobBucket } from './blob-bucket';
import { MetadataTable } from './metadata-table';
import { RegistryApi } from './registry-api';
import { RegistryDomain, type RegistryDomainProps } from './registry-domain';
import { RegistryFunction } from './registry-function';
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
  /** Lifetime of the presigned S3 URLs blob downloads redirect to, seconds. @default 300 */
  readonly blobRedirectSeconds?: number;
  /** Log every blob download in S3 server access logs (kept 90 days). @default true */
  readonly serverAccessLogs?: boolean;
}

/**
 * A complete Nimbus registry: API Gateway HTTP API → Lambda, blobs in S3, metadata in
 * DynamoDB, the upload-signing key in Secrets Manager. Blob bytes never pass through the
 * function: downloads are 307 redirects to presigned S3 URLs.
 */
export class NimbusRegistry extends Construct {
  /** https://<host>, the registry's base URL (the API is at /v2/). */
  readonly url: string;
  /** The host clients log in to and tag images with. */
  readonly host: string;
  readonly blobs: BlobBucket;
  readonly metadata: MetadataTable;
  readonly handler: RegistryFunction;
  readonly api: RegistryApi;
  readonly domain: RegistryDomain | undefined;

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
    this.handler = new RegistryFunction(this, 'Function', {
      bucket: this.blobs.bucket,
      table: this.metadata.table,
      indexNames: this.metadata.indexNames,
      uploadSecret: uploadKey.secret,
      logRetention,
      ...(props.memorySize !== undefined ? { memorySize: props.memorySize } : {}),
      ...(props.blobRedirectSeconds !== undefined ? { blobRedirectSeconds: props.blobRedirectSeconds } : {}),
    });
    this.domain = props.domain ? new RegistryDomain(this, 'Domain', props.domain) : undefined;
    this.api = new RegistryApi(this, 'Http', {
      handler: this.handler.function,
      throttle: props.throttle ?? { rateLimit: 200, burstLimit: 400 },
      logRetention,
      ...(this.domain ? { domainName: this.domain.domainName } : {}),
    });

    const stack = Stack.of(this);
    this.host = props.domain?.domainName ?? `${this.api.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
    this.url = `https://${this.host}`;
  }
}
