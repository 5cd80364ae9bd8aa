import { RemovalPolicy, Stack, type Duration } from 'aws-cdk-lib';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { BlobBucket, DEFAULT_NONCURRENT_VERSION_DAYS, DEFAULT_UPLOAD_SESSION_TTL_SECONDS } from './blob-bucket';
import { MetadataTable } from './metadata-table';
import { RegistryApi } from './registry-api';
import { RegistryDomain, type RegistryDomainProps } from './registry-domain';
import { grantCacheSecrets } from './cache-secrets';
import { RegistryFunction } from './registry-function';
import { VerifierFunction } from './verifier-function';
import { GcFunction } from './gc-function';
import { EventsFunction } from './events-function';
import { grantWebhookSecrets } from './webhook-secrets';
import { TokenSigningSecret } from './token-secret';
import type { UploadEndpoint } from './upload-endpoint';
import { createUploadEndpoint, type UploadEndpointChoice } from './upload-endpoint-choice';
import { UploadSecret } from './upload-secret';
import type { WebFunctionUploadEndpoint } from './web-function-upload-endpoint';

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
   * Where upload Locations point, so unmodified docker, podman and skopeo push layers of any
   * size (README, "The upload endpoint"). `kind` picks it: `fargate`, a streaming container
   * behind CloudFront (about $16.50 a month idle for its load balancer; `cdk deploy` needs
   * Docker to build its image); `webFunction`, the same server as a Lambda web function ($0
   * idle; one request lasts at most 900 s); `off`, every upload on the function (no idle cost,
   * at most ~4.45 MiB per request). `false` is `{ kind: 'off' }`.
   * @default { kind: 'fargate' }
   */
  readonly uploadEndpoint?: UploadEndpointChoice | false;
  /**
   * Seconds an idle upload session is kept (every write extends it). The function, the upload
   * endpoint and the bucket's abort-incomplete-multipart and staged-tail rules all follow it.
   * @default 86400 (one day)
   */
  readonly uploadSessionTtlSeconds?: number;
  /**
   * Days a deleted or overwritten blob or manifest body stays recoverable in the versioned
   * bucket (noncurrent versions) before S3 removes it. @default 30
   */
  readonly noncurrentVersionDays?: number;
  /** Log every blob download in S3 server access logs (kept 90 days). @default true */
  readonly serverAccessLogs?: boolean;
  /**
   * When garbage collection runs: an incremental pass over the review queue (README, "Garbage
   * collection"), resumed across invocations when it outlasts one.
   * @default scheduler.ScheduleExpression.rate(Duration.days(1))
   */
  readonly gcSchedule?: scheduler.ScheduleExpression;
  /** GC's safety window: blobs unreferenced and untouched for less than this are kept. @default Duration.hours(24) */
  readonly gcMinAge?: Duration;
  /**
   * Whether each scheduled GC invocation runs retention first (the retention document and the
   * pull-through cache rules' lifecycles, as POST /v2/_nimbus/retention/run does). Off: nothing
   * runs retention unless asked, and the GC role gets no read of the policies or the catalog.
   * @default true
   */
  readonly retentionOnSchedule?: boolean;
  /**
   * The EventBridge bus every registry event (pushes, deletions) is put on, besides webhooks.
   * @default the account's default bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Addresses webhook URLs may resolve to: `private` (public, private and loopback; link-local
   * and cloud metadata refused), `public` only, or `any`. Checked when a webhook is added and
   * at every delivery. @default 'private'
   */
  readonly webhookAddresses?: 'private' | 'public' | 'any';
  /** Pull-through cache tuning (README "Pull-through cache"). @default the defaults of each field */
  readonly cache?: RegistryCacheProps;
}

export interface RegistryCacheProps {
  /** A cached tag is checked upstream (one HEAD) at most this often; 0 checks on every pull. @default 60 */
  readonly recheckMinutes?: number;
  /**
   * Without an upload endpoint, the function fills blobs itself within its 29 s: larger ones are
   * refused up front with a 503 that says to copy the image in. @default 134217728 (128 MiB)
   */
  readonly maxFillBytes?: number;
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
  /** Scheduled garbage collection. */
  readonly gc: GcFunction;
  /** Delivers events to webhooks and the EventBridge bus. */
  readonly events: EventsFunction;
  readonly api: RegistryApi;
  readonly domain: RegistryDomain | undefined;
  /** undefined when the kind is `off`. */
  readonly uploadEndpoint: UploadEndpoint | WebFunctionUploadEndpoint | undefined;
  /** Seed of the login token signing key; rotate it with put-secret-value. */
  readonly tokenKey: TokenSigningSecret;

  constructor(scope: Construct, id: string, props: NimbusRegistryProps = {}) {
    super(scope, id);
    const dataRemovalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const uploadSessionTtlSeconds = props.uploadSessionTtlSeconds ?? DEFAULT_UPLOAD_SESSION_TTL_SECONDS;
    if (!Number.isInteger(uploadSessionTtlSeconds) || uploadSessionTtlSeconds < 300 || uploadSessionTtlSeconds > 30 * 86_400) {
      // The range the function and the upload server accept for NIMBUS_UPLOAD_SESSION_TTL.
      throw new Error(`uploadSessionTtlSeconds must be a whole number of seconds from 300 to 2592000 (30 days), not ${uploadSessionTtlSeconds}`);
    }

    this.blobs = new BlobBucket(this, 'Blobs', {
      removalPolicy: dataRemovalPolicy,
      uploadSessionTtlSeconds,
      noncurrentVersionDays: props.noncurrentVersionDays ?? DEFAULT_NONCURRENT_VERSION_DAYS,
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
      uploadSessionTtlSeconds,
      ...(props.memorySize !== undefined ? { memorySize: props.memorySize } : {}),
      ...(props.blobRedirectSeconds !== undefined ? { blobRedirectSeconds: props.blobRedirectSeconds } : {}),
    });
    // Pull-through cache: upstream credentials as secrets under nimbus/<stack>/cache/.
    grantCacheSecrets(this.handler.function);
    cacheEnvironment(this.handler.function, props.cache);
    // Direct uploads (`nimbus push`) are verified in the background, never inside an API request.
    this.verifier = new VerifierFunction(this, 'Verifier', { bucket: this.blobs.bucket, table: this.metadata.table, logRetention });
    this.verifier.grantEnqueue(this.handler.function);
    this.gc = new GcFunction(this, 'Gc', {
      bucket: this.blobs.bucket, table: this.metadata.table, logRetention,
      ...(props.gcSchedule ? { gcSchedule: props.gcSchedule } : {}),
      ...(props.gcMinAge ? { gcMinAge: props.gcMinAge } : {}),
      ...(props.retentionOnSchedule === undefined ? {} : { retentionOnSchedule: props.retentionOnSchedule }),
    });
    this.events = new EventsFunction(this, 'Events', {
      bucket: this.blobs.bucket, table: this.metadata.table, logRetention, ...(props.eventBus ? { eventBus: props.eventBus } : {}),
    });
    for (const fn of [this.handler.function, this.events.function]) fn.addEnvironment(LAMBDA_ENV.webhookAddresses, props.webhookAddresses ?? 'private');
    // Webhook secrets in Secrets Manager: the registry function adds and removes them, the events function reads them.
    grantWebhookSecrets(this.handler.function, 'manage');
    grantWebhookSecrets(this.events.function, 'read');
    this.uploadEndpoint = createUploadEndpoint(this, 'Uploads', {
      choice: props.uploadEndpoint,
      registryFunction: this.handler.function,
      bucket: this.blobs.bucket,
      table: this.metadata.table,
      uploadSecret: uploadKey.secret,
      uploadSessionTtlSeconds,
      logRetention,
      ...(props.domain ? { domain: props.domain } : {}),
    });
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

/** The cache props as the function's environment (functions/lambda/settings.ts reads them), checked at synth. */
function cacheEnvironment(fn: lambda.Function, cache: RegistryCacheProps | undefined): void {
  const { recheckMinutes, maxFillBytes } = cache ?? {};
  if (recheckMinutes !== undefined) {
    if (!Number.isInteger(recheckMinutes) || recheckMinutes < 0 || recheckMinutes > 7 * 24 * 60) throw new Error(`cache.recheckMinutes must be an integer from 0 to ${7 * 24 * 60}, not ${recheckMinutes}`);
    fn.addEnvironment(LAMBDA_ENV.cacheRecheckMinutes, String(recheckMinutes));
  }
  if (maxFillBytes !== undefined) {
    if (!Number.isSafeInteger(maxFillBytes) || maxFillBytes < 1) throw new Error(`cache.maxFillBytes must be a positive integer of bytes, not ${maxFillBytes}`);
    fn.addEnvironment(LAMBDA_ENV.cacheMaxFillBytes, String(maxFillBytes));
  }
}
