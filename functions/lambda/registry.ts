/**
 * The registry's Lambda entry: wiring only. Clients and stores are built at module scope
 * (once per container, connections reused); the upload key and the token signing key are
 * read from Secrets Manager once per cold start. Token auth is always on: users and grants
 * live in the table (managed with `npx nimbus --table ...`). Requests arrive from API
 * Gateway (HTTP API, payload 2.0).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createApiGatewayHandler, errorResult, MAX_LAMBDA_BODY_BYTES, type ApiGatewayHandler } from '../adapters/apigw/index';
import { createLazyAwsStores } from '../adapters/aws/lazy-stores';
import { createAwsTokenAuthorizer } from './aws-auth';
import { CLIENT_ADDRESS_HEADER } from '../core/http/headers';
import { createRegistry, RegistryError } from '../core/index';
import { powertoolsLogger } from './logger';
import { readLambdaSettings } from './settings';
import { LAMBDA_UPLOAD_LEASE_SECONDS, uploadEndpointGate, wakeDeadline, type InvocationTiming } from './upload-endpoint';
import { loadUploadSecret } from '../adapters/aws/upload-secret';
import { lambdaTaskQueue } from './task-queue';
import { awsWebhookEvents, readEventSettings, webhookSecretVault } from '../adapters/aws/webhook-events';
import { awsCacheDeps } from './cache';

const settings = readLambdaSettings(process.env);
const powertools = new Logger({ serviceName: 'nimbus-registry' });
const logger = powertoolsLogger(powertools);
// fauxqs (dev:aws) refuses request bodies over 11 MiB; S3 takes parts of up to 5 GiB.
const stores = createLazyAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator, ...(settings.emulator ? { partSize: 8 * 1024 * 1024 } : {}) });
const eventSettings = readEventSettings(process.env);
const uploadGate = uploadEndpointGate(settings.uploadEndpoint, logger);
const emulatorCredentials = settings.emulator ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {};
const secrets = new SecretsManagerClient(emulatorCredentials);
const tasks = settings.verifierFunction ? lambdaTaskQueue(settings.verifierFunction, emulatorCredentials) : undefined;

/** The handler for one invocation: an upload POST's wait for the endpoint ends before the invocation must answer. */
type Serve = (timing: InvocationTiming) => ApiGatewayHandler;

async function start(): Promise<Serve> {
  const [uploadSecret, authorizer] = await Promise.all([
    loadUploadSecret(secrets, settings.uploadSecretArn),
    createAwsTokenAuthorizer({
      dynamodb: stores.clients.dynamodb,
      table: settings.table,
      secrets,
      signingSecretId: settings.tokenSecretArn,
      publicUrl: settings.publicUrl,
      logger,
      // The API Gateway adapter stamps sourceIp here, overwriting whatever the client sent.
      clientAddress: (request) => request.headers.get(CLIENT_ADDRESS_HEADER) ?? undefined,
    }),
  ]);
  const registry = createRegistry({
    blobs: stores.blobs,
    metadata: stores.metadata,
    policies: stores.policies,
    inventory: stores.metadata,
    logger,
    authorizer,
    ...(tasks ? { tasks } : {}),
    // Changes record their events in the table's outbox; the events function delivers them.
    // Webhook secrets in Secrets Manager under the stack's prefix.
    events: awsWebhookEvents(stores.clients.dynamodb, settings.table, webhookSecretVault(secrets, process.env), eventSettings, logger),
    // Pull-through cache: rules in the table, credentials in Secrets Manager, blob fills on the upload endpoint (else here).
    ...(settings.cache ? { cache: awsCacheDeps(settings.cache, stores.clients.dynamodb, settings.table, secrets, settings.uploadEndpoint?.origin) } : {}),
    config: {
      uploadSecret,
      // What one request can carry through API Gateway and Lambda; advertised as OCI-Chunk-Max-Length.
      maxRequestBodyBytes: MAX_LAMBDA_BODY_BYTES,
      blobRedirectSeconds: settings.blobRedirectSeconds,
      uploadLeaseSeconds: LAMBDA_UPLOAD_LEASE_SECONDS,
      // Upload Locations point at the upload endpoint, which takes bodies of any size.
      ...(settings.uploadEndpoint ? { uploadOrigin: settings.uploadEndpoint.origin } : {}),
      ...(settings.uploadUrlTtlSeconds !== undefined ? { uploadUrlTtlSeconds: settings.uploadUrlTtlSeconds } : {}),
      ...(settings.uploadSessionTtlSeconds !== undefined ? { uploadSessionTtlSeconds: settings.uploadSessionTtlSeconds } : {}),
    },
  });
  const plain = createApiGatewayHandler({ fetch: registry.fetch, logger });
  if (!uploadGate) return () => plain;
  return (timing) => createApiGatewayHandler({ fetch: uploadGate.wrap(registry.fetch, wakeDeadline(timing)), logger });
}

// Started during the init phase; a failure is retried by the next invocation.
let ready: Promise<Serve> | undefined = start();
ready.catch(() => undefined);

export async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const timing: InvocationTiming = { invokedAt: Date.now(), remainingMs: context.getRemainingTimeInMillis(), receivedAt: event.requestContext.timeEpoch };
  powertools.addContext(context);
  powertools.appendKeys({ apiRequestId: event.requestContext.requestId });
  try {
    ready ??= start();
    const serve = await ready.catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return await serve(timing)(event, context);
  } catch (error) {
    powertools.error('registry could not start', { error: error instanceof Error ? error.message : String(error) });
    return await unavailable(event);
  } finally {
    powertools.resetKeys();
  }
}

/** A retryable spec error while the function cannot reach its secret or stores. */
function unavailable(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = event.requestContext.requestId;
  const error = new RegistryError('UNAVAILABLE', 'the registry is starting or cannot reach its storage; retry', {
    detail: { requestId }, headers: { 'Retry-After': '1' },
  });
  return errorResult(error, { logger, requestId, method: event.requestContext.http.method });
}
