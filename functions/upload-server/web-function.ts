/**
 * The upload endpoint's entry on a Lambda web function (AWS::Lambda::WebFunction, Node.js
 * 24): wiring only. The same server as main.ts (core, AWS stores, node:http adapter, the
 * same environment), listening where the runtime says (AWS_LAMBDA_HTTP_ENDPOINT). Lambda
 * scales it, to zero when idle, so it never scales itself: NIMBUS_IDLE_SHUTDOWN_MINUTES is
 * ignored and the wake probe always answers ready. The endpoint's auth is ApplicationManaged:
 * every upload request carries its signed capability, as on Fargate.
 */
import { jsonLogger } from '../adapters/node/logger';
import { exitOnStartupError, onStopSignal, SHUTDOWN_GRACE_MS, startUploadEndpoint } from './endpoint';
import { IdleMonitor } from './idle-monitor';
import { parseListenAddress, WEB_FUNCTION_ENDPOINT_ENV } from './listen-address';
import { readUploadServerSettings, uploadServerHelpText } from './settings';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(`${uploadServerHelpText()}\n\nAs a Lambda web function, it listens on ${WEB_FUNCTION_ENDPOINT_ENV} (host:port) instead of HOST and PORT.`);
    return;
  }
  const settings = readUploadServerSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  const address = parseListenAddress(process.env[WEB_FUNCTION_ENDPOINT_ENV]);
  if (settings.idleShutdown) logger.log('warn', 'NIMBUS_IDLE_SHUTDOWN_MINUTES is ignored: Lambda scales a web function to zero itself');
  const server = await startUploadEndpoint({ settings, ...address, logger, idle: new IdleMonitor() });
  logger.announce('nimbus upload endpoint listening', {
    url: server.url, pid: process.pid, kind: 'web-function', partSizeBytes: settings.partSizeBytes, leaseSeconds: settings.leaseSeconds,
  });
  onStopSignal(logger, () => server.close(SHUTDOWN_GRACE_MS));
}

main().catch(exitOnStartupError);
