/**
 * The upload endpoint's entry: wiring only. A long-running Node process (ECS Fargate in
 * AWS, a child of `npm run dev:aws` locally) that serves upload sessions opened by the
 * registry function, streaming each body into S3 multipart parts. Hashing is hash-wasm
 * (the core's default): its state is saved in the session, so any task can resume any
 * upload, including ones the function started.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAwsStores } from '../adapters/aws/index';
import { ecsServiceScaler } from '../adapters/aws/ecs-service';
import { jsonLogger } from '../adapters/node/logger';
import { startHttpServer } from '../adapters/node-http/server';
import { createRegistry } from '../core/index';
import { loadUploadSecret } from '../lambda/upload-secret';
import { IdleMonitor } from './idle-monitor';
import { uploadEndpointFetch } from './upload-app';
import { readUploadServerSettings, uploadServerHelpText, UploadServerSettingsError } from './settings';

const IDLE_CHECK_MS = 30_000;
/** ECS gives a task this long after SIGTERM (stopTimeout); requests in flight get most of it. */
const SHUTDOWN_GRACE_MS = 100_000;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(uploadServerHelpText());
    return;
  }
  const settings = readUploadServerSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator, partSize: settings.partSizeBytes });
  const secrets = new SecretsManagerClient(settings.emulator ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {});
  const registry = createRegistry({
    blobs: stores.blobs,
    metadata: stores.metadata,
    logger,
    config: {
      uploadSecret: await loadUploadSecret(secrets, settings.uploadSecretArn),
      uploadLeaseSeconds: settings.leaseSeconds,
      uploadUrlTtlSeconds: settings.uploadUrlTtlSeconds,
      uploadSessionTtlSeconds: settings.uploadSessionTtlSeconds,
    },
  });
  const idle = new IdleMonitor();
  const server = await startHttpServer({ fetch: uploadEndpointFetch(registry, idle), logger, host: settings.host, port: settings.port });
  logger.announce('nimbus upload endpoint listening', {
    url: server.url, pid: process.pid, partSizeBytes: settings.partSizeBytes, leaseSeconds: settings.leaseSeconds,
    idleShutdownMinutes: settings.idleShutdown?.minutes ?? 0,
  });

  let idleTimer: NodeJS.Timeout | undefined;
  if (settings.idleShutdown) {
    const { minutes, cluster, service } = settings.idleShutdown;
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const scaler = ecsServiceScaler({ region, cluster, service });
    let requested = false;
    idleTimer = setInterval(() => {
      if (requested || !idle.isIdle(minutes * 60_000)) return;
      requested = true;
      logger.log('info', 'idle: scaling the upload endpoint to zero', { cluster, service, idleMinutes: minutes });
      scaler.setDesiredCount(0).catch((error: unknown) => {
        requested = false; // try again at the next check
        logger.log('warn', 'could not scale the upload endpoint to zero', { error: String(error) });
      });
    }, IDLE_CHECK_MS);
    idleTimer.unref();
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(idleTimer);
    logger.log('info', 'shutting down', { signal });
    await server.close(SHUTDOWN_GRACE_MS);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`nimbus upload endpoint: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof UploadServerSettingsError) && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('The port is taken: set PORT to a free port.');
  }
  process.exit(1);
});
