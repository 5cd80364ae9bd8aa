import { isLogLevel } from '../adapters/node/logger';
import type { LogLevel } from '../core/index';
import { LAMBDA_ENV } from '../adapters/aws/env';

/**
 * Every setting of the upload endpoint, read from the environment; --help prints this
 * table. Storage and key settings use the Lambda's names: the stack sets both the same way.
 */
export const UPLOAD_SERVER_SETTINGS = [
  ['HOST', '127.0.0.1', 'Address to listen on (0.0.0.0 in the container).'],
  ['PORT', '8080', 'Port to listen on; 0 picks a free one.'],
  [LAMBDA_ENV.table, '(required)', 'DynamoDB table of metadata and upload sessions.'],
  [LAMBDA_ENV.bucket, '(required)', 'S3 bucket of blobs.'],
  [LAMBDA_ENV.uploadSecretArn, '(required)', 'Secrets Manager secret holding the upload-URL HMAC key, the same one the registry function reads.'],
  [LAMBDA_ENV.uploadUrlTtlSeconds, '3600', 'Seconds an upload Location stays valid (as the registry function).'],
  [LAMBDA_ENV.uploadSessionTtlSeconds, '86400', 'Seconds an idle upload is kept (as the registry function).'],
  ['NIMBUS_PART_SIZE_MIB', '16', 'S3 part size in MiB (5 to 512). Memory per upload in flight is about twice this.'],
  ['NIMBUS_UPLOAD_LEASE_SECONDS', '15', 'Lease of a request on its upload, renewed every third of this while the request runs; a process that dies frees its uploads within it.'],
  ['NIMBUS_IDLE_SHUTDOWN_MINUTES', '0', 'Scale the ECS service to zero after this many minutes without requests; 0 never does.'],
  ['NIMBUS_ECS_CLUSTER', '(none)', 'With NIMBUS_IDLE_SHUTDOWN_MINUTES: the ECS cluster of this service.'],
  ['NIMBUS_ECS_SERVICE', '(none)', 'With NIMBUS_IDLE_SHUTDOWN_MINUTES: the ECS service to scale to zero.'],
  ['NIMBUS_LOG_LEVEL', 'info', 'debug, info, warn or error. One JSON line per request at info.'],
  [LAMBDA_ENV.secretPrefix, '(none)', 'Pull-through cache: fill cached blobs here (the registry function redirects blob misses), with upstream credentials under this Secrets Manager prefix (nimbus/<stack>). Unset: no fills.'],
  [LAMBDA_ENV.emulator, '(off)', '1 under `npm run dev:aws` only: talk to local emulators (endpoints from AWS_ENDPOINT_URL_*).'],
] as const;

export interface UploadServerSettings {
  host: string;
  port: number;
  table: string;
  bucket: string;
  uploadSecretArn: string;
  uploadUrlTtlSeconds: number;
  uploadSessionTtlSeconds: number;
  partSizeBytes: number;
  leaseSeconds: number;
  /** undefined: never scale to zero. */
  idleShutdown: { minutes: number; cluster: string; service: string } | undefined;
  logLevel: LogLevel;
  emulator: boolean;
  /** The pull-through cache's fills, when the stack names where upstream credentials are. */
  cacheSecretPrefix: string | undefined;
}

export class UploadServerSettingsError extends Error {}

const MiB = 1024 * 1024;

export function readUploadServerSettings(env: NodeJS.ProcessEnv): UploadServerSettings {
  const logLevel = env.NIMBUS_LOG_LEVEL || 'info';
  if (!isLogLevel(logLevel)) throw new UploadServerSettingsError(`NIMBUS_LOG_LEVEL must be debug, info, warn or error, not "${logLevel}"`);
  const idleMinutes = integer(env, 'NIMBUS_IDLE_SHUTDOWN_MINUTES', 0, 0, 24 * 60);
  let idleShutdown: UploadServerSettings['idleShutdown'];
  if (idleMinutes > 0) {
    const cluster = env.NIMBUS_ECS_CLUSTER;
    const service = env.NIMBUS_ECS_SERVICE;
    if (!cluster || !service) throw new UploadServerSettingsError('NIMBUS_IDLE_SHUTDOWN_MINUTES needs NIMBUS_ECS_CLUSTER and NIMBUS_ECS_SERVICE');
    idleShutdown = { minutes: idleMinutes, cluster, service };
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    table: required(env, LAMBDA_ENV.table),
    bucket: required(env, LAMBDA_ENV.bucket),
    uploadSecretArn: required(env, LAMBDA_ENV.uploadSecretArn),
    uploadUrlTtlSeconds: integer(env, LAMBDA_ENV.uploadUrlTtlSeconds, 3600, 60, 7 * 86400),
    uploadSessionTtlSeconds: integer(env, LAMBDA_ENV.uploadSessionTtlSeconds, 86400, 300, 30 * 86400),
    partSizeBytes: integer(env, 'NIMBUS_PART_SIZE_MIB', 16, 5, 512) * MiB,
    leaseSeconds: integer(env, 'NIMBUS_UPLOAD_LEASE_SECONDS', 15, 3, 3600),
    idleShutdown,
    logLevel,
    emulator: env[LAMBDA_ENV.emulator] === '1',
    cacheSecretPrefix: env[LAMBDA_ENV.secretPrefix]?.replace(/\/+$/, '') || undefined,
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new UploadServerSettingsError(`environment variable ${name} is not set`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UploadServerSettingsError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

export function uploadServerHelpText(): string {
  const width = Math.max(...UPLOAD_SERVER_SETTINGS.map(([name]) => name.length)) + 2;
  return [
    'Usage: node upload-server.mjs [--help]   (from a checkout: npx tsx functions/upload-server/main.ts)',
    '',
    'The registry\'s upload endpoint: serves only upload sessions (PATCH, PUT, GET and DELETE on the',
    'upload Locations the registry function hands out, authorised by their signed capability), streaming',
    'bodies into S3 multipart parts. Everything else answers 404; GET /healthz answers 200.',
    '',
    'Settings (environment variables):',
    ...UPLOAD_SERVER_SETTINGS.map(([name, fallback, text]) => `  ${name.padEnd(width)}${text}\n  ${''.padEnd(width)}default: ${fallback}`),
  ].join('\n');
}
