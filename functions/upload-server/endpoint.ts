/**
 * The upload endpoint's wiring, shared by its two entries: main.ts (a long-running task on
 * ECS Fargate, or a child of `npm run dev:aws`) and web-function.ts (a Lambda web function).
 * The same core, AWS stores and node:http adapter, configured by the same environment.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsStores } from '../adapters/aws/index';
import { startHttpServer, type RunningServer } from '../adapters/node-http/server';
import { createRegistry, type Logger } from '../core/index';
import { loadUploadSecret } from '../adapters/aws/upload-secret';
import type { IdleMonitor } from './idle-monitor';
import type { WakeAnswer } from './idle-shutdown';
import { uploadEndpointFetch } from './upload-app';
import { endpointCacheDeps } from './cache-fills';
import { UploadServerSettingsError, type UploadServerSettings } from './settings';

/**
 * Request URLs are built on this origin, never on the client's Host header. Nothing here
 * reflects it: the endpoint's upload Locations are relative.
 */
const REQUEST_ORIGIN = 'http://nimbus-upload-endpoint';

/** ECS gives a task this long after SIGTERM (stopTimeout); requests in flight get most of it. */
export const SHUTDOWN_GRACE_MS = 100_000;

export interface UploadEndpointOptions {
  readonly settings: UploadServerSettings;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Counts requests and probes, for scaling to zero. */
  readonly idle: IdleMonitor;
  /** What the wake probe answers. @default always ready */
  readonly wake?: () => WakeAnswer;
}

export async function startUploadEndpoint(options: UploadEndpointOptions): Promise<RunningServer> {
  const { settings, logger } = options;
  const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator, partSize: settings.partSizeBytes });
  const secrets = new SecretsManagerClient(settings.emulator ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {});
  const registry = createRegistry({
    blobs: stores.blobs,
    metadata: stores.metadata,
    logger,
    // Pull-through cache fills the registry function redirects here: this host can hold a layer's whole transfer.
    ...(settings.cacheSecretPrefix ? { policies: stores.policies, cache: endpointCacheDeps(settings.cacheSecretPrefix, stores.clients.dynamodb, settings.table, secrets) } : {}),
    config: {
      uploadSecret: await loadUploadSecret(secrets, settings.uploadSecretArn),
      uploadLeaseSeconds: settings.leaseSeconds,
      uploadUrlTtlSeconds: settings.uploadUrlTtlSeconds,
      uploadSessionTtlSeconds: settings.uploadSessionTtlSeconds,
    },
  });
  return startHttpServer({
    fetch: uploadEndpointFetch(registry, options.idle, options.wake), logger, host: options.host, port: options.port, publicOrigin: REQUEST_ORIGIN,
  });
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits. */
export function onStopSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'shutting down', { signal });
    await stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void handle('SIGTERM'));
  process.on('SIGINT', () => void handle('SIGINT'));
}

/** A startup failure: one line that says what to fix, and exit code 1. */
export function exitOnStartupError(error: unknown): never {
  console.error(`nimbus upload endpoint: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof UploadServerSettingsError) && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('The port is taken: set PORT to a free port.');
  }
  process.exit(1);
}
