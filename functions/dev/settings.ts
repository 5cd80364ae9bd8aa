import { resolve } from 'node:path';
import { isWildcardHost, parsePublicUrl, publicUrlNeeded } from '../adapters/node/public-url';
import { devAdminCommands, devNimbusCli } from './admin-commands';
import type { EmulatorEndpoints } from './resources';

/** Every setting of `npm run dev:aws`, read from the environment; --help prints this table. */
export const DEV_SETTINGS = [
  ['HOST', '127.0.0.1', 'Address the API Gateway stand-in listens on.'],
  ['PORT', '5000', 'Port the API Gateway stand-in listens on.'],
  ['NIMBUS_PUBLIC_URL', '(http://HOST:PORT)', 'Origin clients reach the stand-in at; the function gets it as the stack passes its URL, and login challenges point there. Required when HOST listens on every address (0.0.0.0, ::).'],
  ['NIMBUS_LOG_LEVEL', 'info', 'debug, info, warn or error: the function\'s Powertools log level, and that of dev:aws\'s and the upload endpoint\'s own lines. The startup lines are printed at every level.'],
  ['NIMBUS_DEV_STATE_DIR', './.tmp/dev-aws', 'Where the local upload-URL and token signing keys are kept, so upload URLs and logins survive a restart.'],
  ['NIMBUS_DEV_S3_ENDPOINT', '(start fauxqs)', 'Use an S3 emulator that is already running instead of starting one.'],
  ['NIMBUS_DEV_DYNAMODB_ENDPOINT', '(start DynamoDB Local)', 'Use a DynamoDB Local that is already running instead of starting one.'],
  ['NIMBUS_DEV_TABLE', 'nimbus-dev', 'Table name (created if missing).'],
  ['NIMBUS_DEV_BUCKET', 'nimbus-dev', 'Bucket name (created if missing).'],
  ['NIMBUS_DEV_UPLOAD_ENDPOINT', 'on', 'on: run the upload endpoint beside the API (a streaming process on its own port, as the stack deploys it). web-function: the same, through its Lambda web function entry. off: uploads stay on the function (≤ 4.45 MiB per request).'],
] as const;

export interface DevSettings {
  host: string;
  port: number;
  /** NIMBUS_PUBLIC_URL; undefined: http://HOST:<bound port>. */
  publicUrl: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  stateDir: string;
  /** Running emulators to use; undefined starts fresh ones. */
  endpoints: EmulatorEndpoints | undefined;
  table: string;
  bucket: string;
  /**
   * Run the upload endpoint (functions/upload-server) and point upload Locations at it: its
   * container entry (task) or its Lambda web function entry. undefined: uploads stay on the function.
   */
  uploadEndpoint: 'task' | 'web-function' | undefined;
}

export class DevSettingsError extends Error {}

export function readDevSettings(env: NodeJS.ProcessEnv): DevSettings {
  const port = Number(env.PORT || 5000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DevSettingsError(`PORT must be an integer from 0 to 65535, not "${env.PORT}"`);
  const logLevel = env.NIMBUS_LOG_LEVEL || 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new DevSettingsError(`NIMBUS_LOG_LEVEL must be debug, info, warn or error, not "${logLevel}"`);
  const host = env.HOST || '127.0.0.1';
  const publicUrl = parsePublicUrl(env.NIMBUS_PUBLIC_URL);
  if ('error' in publicUrl) throw new DevSettingsError(publicUrl.error);
  // Auth is always on here, as when deployed: login challenges need a URL clients can reach.
  if (!publicUrl.url && isWildcardHost(host)) throw new DevSettingsError(publicUrlNeeded(host, port));
  const s3 = env.NIMBUS_DEV_S3_ENDPOINT || undefined;
  const dynamodb = env.NIMBUS_DEV_DYNAMODB_ENDPOINT || undefined;
  if ((s3 === undefined) !== (dynamodb === undefined)) {
    throw new DevSettingsError('set both NIMBUS_DEV_S3_ENDPOINT and NIMBUS_DEV_DYNAMODB_ENDPOINT, or neither (to start both emulators)');
  }
  return {
    host,
    port,
    publicUrl: publicUrl.url,
    logLevel: logLevel as DevSettings['logLevel'],
    stateDir: resolve(env.NIMBUS_DEV_STATE_DIR || './.tmp/dev-aws'),
    endpoints: s3 && dynamodb ? { s3, dynamodb } : undefined,
    table: env.NIMBUS_DEV_TABLE || 'nimbus-dev',
    bucket: env.NIMBUS_DEV_BUCKET || 'nimbus-dev',
    uploadEndpoint: uploadEndpointKind(env.NIMBUS_DEV_UPLOAD_ENDPOINT || 'on'),
  };
}

function uploadEndpointKind(value: string): DevSettings['uploadEndpoint'] {
  if (value === 'on') return 'task';
  if (value === 'web-function') return 'web-function';
  if (value === 'off') return undefined;
  throw new DevSettingsError(`NIMBUS_DEV_UPLOAD_ENDPOINT must be on, web-function or off, not "${value}"`);
}

export function devHelpText(): string {
  const width = Math.max(...DEV_SETTINGS.map(([name]) => name.length)) + 2;
  return [
    'Usage: npm run dev:aws [-- --help]',
    '',
    'Runs the registry\'s real Lambda handler behind a local stand-in for API Gateway (HTTP API,',
    'payload 2.0, $default stage: 10 MB request limit, 6 MB Lambda event limit, 30 s timeout),',
    'on DynamoDB Local and the fauxqs S3 emulator, which it starts itself (Java 17+ required).',
    '',
    'Settings (environment variables):',
    ...DEV_SETTINGS.map(([name, fallback, text]) => `  ${name.padEnd(width)}${text}\n  ${''.padEnd(width)}default: ${fallback}`),
    '',
    'Auth is always on, as when deployed. Users and grants live in the table; the startup log',
    'prints the DynamoDB Local endpoint and these commands, ready to paste:',
    ...devAdminCommands(devNimbusCli('<DynamoDB endpoint>', '<table>'), '127.0.0.1:5000').map((line) => `  ${line}`),
  ].join('\n');
}
