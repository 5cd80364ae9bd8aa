/**
 * Environment variables the registry function reads. The CDK construct imports these
 * names to set them, so the stack and the function cannot disagree.
 */
export const LAMBDA_ENV = {
  /** DynamoDB table of metadata. */
  table: 'NIMBUS_TABLE_NAME',
  /** S3 bucket of blobs. */
  bucket: 'NIMBUS_BUCKET_NAME',
  /** Secrets Manager secret holding the upload-URL HMAC key (read at cold start). */
  uploadSecretArn: 'NIMBUS_UPLOAD_SECRET_ARN',
  /** Secrets Manager secret seeding the token signing key (read at cold start; AWSPREVIOUS still verifies). */
  tokenSecretArn: 'NIMBUS_TOKEN_SECRET_ARN',
  /**
   * The registry's origin as clients reach it (https://registry.example.com, or the
   * execute-api URL): login challenges name <it>/token. Never taken from a request's Host.
   */
  publicUrl: 'NIMBUS_PUBLIC_URL',
  /** Lifetime of presigned blob URLs, seconds. */
  blobRedirectSeconds: 'NIMBUS_BLOB_REDIRECT_SECONDS',
  /** Lifetime of upload URLs, seconds. */
  uploadUrlTtlSeconds: 'NIMBUS_UPLOAD_URL_TTL',
  /** How long an idle upload session is kept, seconds. */
  uploadSessionTtlSeconds: 'NIMBUS_UPLOAD_SESSION_TTL',
  /** "1" under `npm run dev:aws` only: the AWS services are local emulators. */
  emulator: 'NIMBUS_AWS_EMULATOR',
  /** Origin of the upload endpoint (https://…); upload POSTs answer with Locations there. Unset: uploads stay here. */
  uploadOrigin: 'NIMBUS_UPLOAD_ORIGIN',
  /** ECS cluster and service of the upload endpoint, started by the first upload POST when scaled to zero. */
  uploadEcsCluster: 'NIMBUS_UPLOAD_ECS_CLUSTER',
  uploadEcsService: 'NIMBUS_UPLOAD_ECS_SERVICE',
  /** The function that verifies direct uploads in the background (invoked asynchronously). */
  verifierFunction: 'NIMBUS_VERIFIER_FUNCTION',
  /** Garbage collection's safety window, milliseconds (the GC function only). */
  gcMinAgeMs: 'NIMBUS_GC_MIN_AGE_MS',
  /** Most invocations one GC pass chains to resume past the 15-minute limit (the GC function only). */
  gcMaxChain: 'NIMBUS_GC_MAX_CHAIN',
  /**
   * Name prefix of the secrets the registry writes at run time (webhook secrets, cache
   * credentials), e.g. `nimbus/<stack>`: each is `<prefix>/<kind>/<id>` in Secrets Manager
   * (SecretsManagerVault), and IAM grants only `secret:<prefix>/*`.
   */
  secretPrefix: 'NIMBUS_SECRET_PREFIX',
  /** Pull-through cache: a cached tag is rechecked upstream at most this often, minutes. @default 60 */
  cacheRecheckMinutes: 'NIMBUS_CACHE_RECHECK_MINUTES',
  /** Pull-through cache: the largest blob the function fills from upstream within one request, bytes. */
  cacheMaxFillBytes: 'NIMBUS_CACHE_MAX_FILL_BYTES',
  /** EventBridge bus every event is put on (name or ARN). Unset: events go to webhooks only. */
  eventBus: 'NIMBUS_EVENT_BUS',
  /** private (default), public or any: addresses webhook URLs may resolve to (as NIMBUS_WEBHOOK_ADDRESSES on npm start). */
  webhookAddresses: 'NIMBUS_WEBHOOK_ADDRESSES',
  /** Seconds a webhook receiver gets to answer. @default 10 */
  webhookTimeoutSeconds: 'NIMBUS_WEBHOOK_TIMEOUT',
  /** Attempts before a delivery is dead-lettered. @default 24 (1 s doubling to 1 h: about 12 hours) */
  webhookMaxAttempts: 'NIMBUS_WEBHOOK_MAX_ATTEMPTS',
} as const;
