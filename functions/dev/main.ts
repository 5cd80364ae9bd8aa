/**
 * `npm run dev:aws`: the deployed path, offline. DynamoDB Local and an S3 emulator, a
 * stand-in for Secrets Manager (the stack's keys, and secrets written at run time, kept in
 * the state directory) and for Lambda's asynchronous Invoke (the
 * direct-upload verifier runs in this process), the events function's pass (webhooks, in
 * this process: events-loop.ts), and the registry's real Lambda handler
 * (functions/lambda/registry.ts, configured through the same environment variables the
 * stack sets) behind an API-Gateway-faithful HTTP server. One difference remains: Lambda
 * runs one request per container, here they share a process, so per-invocation log keys
 * of concurrent requests can interleave (each request line still names its own id).
 */
import { join } from 'node:path';
import { startAwsEmulators, type AwsEmulators } from './emulators';
import { API_GATEWAY_TIMEOUT_MS } from '../adapters/apigw/limits';
import { jsonLogger } from '../adapters/node/logger';
import type { LogLevel } from '../core/index';
import { LAMBDA_ENV } from '../adapters/aws/env';
import { loadOrCreateSecret } from '../adapters/fs/data-dir';
import { originOf } from '../adapters/node/public-url';
import { devAdminCommands, devNimbusCli } from './admin-commands';
import { startGatewayServer, type LambdaHandler, type RunningGateway } from './gateway-server';
import { ensureResources } from './resources';
import { startSecretsStub, type SecretsStub } from './secrets-stub';
import { startLambdaStub, type AsyncHandler } from './lambda-stub';
import { startDevUploadEndpoint } from './upload-endpoint-process';
import { devHelpText, DevSettingsError, readDevSettings } from './settings';
import { startDevEventsLoop, type DevEventsLoop } from './events-loop';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const UPLOAD_KEY_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nimbus-dev-upload-key`;
const TOKEN_KEY_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nimbus-dev-token-key`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(devHelpText());
    return;
  }
  const settings = readDevSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  const print = (level: LogLevel, message: string, fields?: Record<string, unknown>) => logger.log(level, message, fields);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => print('warn', 'shutdown step failed', { error: String(error) }));
  };
  try {
    let endpoints = settings.endpoints;
    if (!endpoints) {
      print('info', 'starting DynamoDB Local and the S3 emulator');
      const emulators: AwsEmulators = await startAwsEmulators();
      stops.push(() => emulators.stop());
      endpoints = emulators.endpoints;
    }
    await ensureResources(REGION, endpoints, { table: settings.table, bucket: settings.bucket });

    // Stable keys across restarts, so upload URLs and docker logins from before a restart stay valid.
    const key = await loadOrCreateSecret(settings.stateDir, 'upload-hmac.key');
    const tokenKey = await loadOrCreateSecret(settings.stateDir, 'token-signing.key');
    const secrets: SecretsStub = await startSecretsStub(new Map([
      [UPLOAD_KEY_ARN, Buffer.from(key).toString('hex')],
      [TOKEN_KEY_ARN, Buffer.from(tokenKey).toString('hex')],
    ]), { persistTo: join(settings.stateDir, 'run-time-secrets.json') });
    stops.push(() => secrets.close());

    // The direct-upload verifier, invoked asynchronously as the stack does it.
    const verifierName = 'nimbus-verifier-dev';
    const lambdas = await startLambdaStub(new Map([
      [verifierName, async () => ((await import('../lambda/verifier')) as { handler: AsyncHandler }).handler],
    ]), print);
    stops.push(() => lambdas.close());

    const functionName = 'nimbus-registry-dev';
    Object.assign(process.env, {
      [LAMBDA_ENV.table]: settings.table,
      [LAMBDA_ENV.bucket]: settings.bucket,
      [LAMBDA_ENV.uploadSecretArn]: UPLOAD_KEY_ARN,
      [LAMBDA_ENV.tokenSecretArn]: TOKEN_KEY_ARN,
      [LAMBDA_ENV.emulator]: '1',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'emulator',
      AWS_SECRET_ACCESS_KEY: 'emulator',
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      [LAMBDA_ENV.secretPrefix]: 'nimbus/dev',
      AWS_ENDPOINT_URL_LAMBDA: lambdas.endpoint,
      [LAMBDA_ENV.verifierFunction]: verifierName,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      POWERTOOLS_SERVICE_NAME: 'nimbus-registry',
      POWERTOOLS_LOG_LEVEL: settings.logLevel.toUpperCase(),
    });
    // The upload endpoint as the stack runs it: a separate streaming process, Locations pointing at it.
    const upload = settings.uploadEndpoint ? await startDevUploadEndpoint(process.env, settings.host, logger, settings.uploadEndpoint) : undefined;
    if (upload) {
      stops.push(() => upload.close());
      process.env[LAMBDA_ENV.uploadOrigin] = upload.url;
    }
    // The events function (webhooks), in process: a pass after each change, and every second.
    const events: DevEventsLoop = await startDevEventsLoop(settings.table, settings.bucket, logger);
    stops.push(() => events.close());
    const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
    // The stack passes the function its URL; here the port is known once the stand-in listens,
    // so it listens first and hands requests on once the handler has loaded.
    let handlerLoaded!: (handler: LambdaHandler) => void;
    const loaded = new Promise<LambdaHandler>((resolve) => (handlerLoaded = resolve));
    const gateway: RunningGateway = await startGatewayServer({
      handler: async (event, context) => (await loaded)(event, context),
      host: settings.host,
      port: settings.port,
      function: { functionName, memoryLimitInMB: 1024, timeoutMs: API_GATEWAY_TIMEOUT_MS - 1000, region: REGION, accountId: ACCOUNT },
      accessLog: (entry) => {
        print('info', 'api gateway access', entry);
        if (!READS.has(String(entry.method))) events.kick();
      },
    });
    stops.push(() => gateway.close());
    const publicUrl = settings.publicUrl ?? originOf(settings.host, new URL(gateway.url).port);
    process.env[LAMBDA_ENV.publicUrl] = publicUrl;
    // Imported only now: like a Lambda cold start, the module reads its environment on load.
    handlerLoaded(((await import('../lambda/registry')) as { handler: LambdaHandler }).handler);
    const nimbusCli = devNimbusCli(endpoints.dynamodb, settings.table);
    logger.announce('nimbus dev:aws listening', {
      url: gateway.url, publicUrl, s3: endpoints.s3, dynamodb: endpoints.dynamodb, table: settings.table, bucket: settings.bucket, nimbusCli,
      uploadUrl: upload?.url ?? null,
      // For `nimbus webhook add|remove|test --dynamodb-local`: AWS_ENDPOINT_URL_SECRETS_MANAGER=<this>.
      secretsManager: secrets.endpoint,
    });
    // For the person at the terminal (stdout stays JSON lines): auth is on, as when deployed.
    process.stderr.write(['', 'Auth is on, as when deployed. Add a user and log in:',
      ...devAdminCommands(nimbusCli, new URL(publicUrl).host).map((line) => `  ${line}`),
      'Collect garbage now (the deployed stack does it daily):',
      `  ${nimbusCli} gc --bucket ${settings.bucket} --s3-endpoint ${endpoints.s3} --min-age 0`, ''].join('\n'));
  } catch (error) {
    await stopAll();
    throw error;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    print('info', 'shutting down', { signal });
    await stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`nimbus dev:aws: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof DevSettingsError) && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('The port is taken: stop the other server or set PORT to a free port (PORT=5001 npm run dev:aws).');
  }
  process.exit(1);
});
