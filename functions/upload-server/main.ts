/**
 * The upload endpoint's entry on ECS Fargate: wiring only. A long-running Node process
 * (a child of `npm run dev:aws` locally) that serves upload sessions opened by the registry
 * function, streaming each body into S3 multipart parts. Hashing is hash-wasm (the core's
 * default): its state is saved in the session, so any task can resume any upload,
 * including ones the function started. It scales its own service to zero when idle.
 */
import { ecsServiceScaler } from '../adapters/aws/ecs-service';
import { jsonLogger } from '../adapters/node/logger';
import { exitOnStartupError, onStopSignal, SHUTDOWN_GRACE_MS, startUploadEndpoint } from './endpoint';
import { IdleMonitor } from './idle-monitor';
import { IdleShutdown } from './idle-shutdown';
import { readUploadServerSettings, uploadServerHelpText } from './settings';

const IDLE_CHECK_MS = 30_000;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(uploadServerHelpText());
    return;
  }
  const settings = readUploadServerSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  const idle = new IdleMonitor();
  let shutdown: IdleShutdown | undefined;
  if (settings.idleShutdown) {
    const { minutes, cluster, service } = settings.idleShutdown;
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    shutdown = new IdleShutdown({ idle, scaler: ecsServiceScaler({ region, cluster, service }), idleMs: minutes * 60_000, logger });
  }
  const server = await startUploadEndpoint({
    settings, host: settings.host, port: settings.port, logger, idle, ...(shutdown ? { wake: () => shutdown.wakeAnswer() } : {}),
  });
  logger.announce('nimbus upload endpoint listening', {
    url: server.url, pid: process.pid, partSizeBytes: settings.partSizeBytes, leaseSeconds: settings.leaseSeconds,
    idleShutdownMinutes: settings.idleShutdown?.minutes ?? 0,
  });
  const idleTimer = shutdown ? setInterval(() => void shutdown.check(), IDLE_CHECK_MS) : undefined;
  idleTimer?.unref();
  onStopSignal(logger, async () => {
    clearInterval(idleTimer);
    shutdown?.drain();
    await server.close(SHUTDOWN_GRACE_MS);
  });
}

main().catch(exitOnStartupError);
