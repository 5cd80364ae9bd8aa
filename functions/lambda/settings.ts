import { LAMBDA_ENV } from '../adapters/aws/env';

export interface LambdaSettings {
  readonly table: string;
  readonly bucket: string;
  readonly uploadSecretArn: string;
  /** Token auth is always on when deployed: there is no setting to turn it off. */
  readonly tokenSecretArn: string;
  /** Origin clients reach the registry at; the token realm is built from it. */
  readonly publicUrl: string;
  readonly blobRedirectSeconds: number;
  readonly uploadUrlTtlSeconds: number | undefined;
  readonly uploadSessionTtlSeconds: number | undefined;
  /**
   * Talk to local emulators (path-style S3, dummy credentials). Set by `npm run dev:aws`
   * only; endpoints then come from AWS_ENDPOINT_URL_S3 / _DYNAMODB / _SECRETS_MANAGER.
   */
  readonly emulator: boolean;
  /** The upload endpoint, when the stack deploys one; undefined keeps uploads on the function. */
  readonly uploadEndpoint: { origin: string; ecs: { cluster: string; service: string } | undefined } | undefined;
  /** Where direct uploads are verified; unset: within the completing request (fine for small blobs only). */
  readonly verifierFunction: string | undefined;
  /**
   * The pull-through cache, when the stack names where its credentials go (NIMBUS_SECRET_PREFIX,
   * `nimbus/<stack>`); unset: no cache, and the cache routes answer 404 UNSUPPORTED.
   */
  readonly cache: { secretPrefix: string; recheckMinutes: number; maxFillBytes: number } | undefined;
}

/**
 * The largest blob the function fills from upstream by default: it must arrive and be stored
 * within one invocation (29 s), which 128 MiB does from a registry serving 10 MB/s or more.
 */
export const DEFAULT_CACHE_MAX_FILL_BYTES = 128 * 1024 * 1024;

/** Reads the function's configuration; a missing value fails the cold start with its name. */
export function readLambdaSettings(env: NodeJS.ProcessEnv): LambdaSettings {
  return {
    table: required(env, LAMBDA_ENV.table),
    bucket: required(env, LAMBDA_ENV.bucket),
    uploadSecretArn: required(env, LAMBDA_ENV.uploadSecretArn),
    tokenSecretArn: required(env, LAMBDA_ENV.tokenSecretArn),
    publicUrl: origin(env, LAMBDA_ENV.publicUrl),
    blobRedirectSeconds: integer(env, LAMBDA_ENV.blobRedirectSeconds) ?? 300,
    uploadUrlTtlSeconds: integer(env, LAMBDA_ENV.uploadUrlTtlSeconds),
    uploadSessionTtlSeconds: integer(env, LAMBDA_ENV.uploadSessionTtlSeconds),
    emulator: env[LAMBDA_ENV.emulator] === '1',
    uploadEndpoint: uploadEndpoint(env),
    verifierFunction: env[LAMBDA_ENV.verifierFunction] || undefined,
    cache: cacheSettings(env),
  };
}

function cacheSettings(env: NodeJS.ProcessEnv): LambdaSettings['cache'] {
  const secretPrefix = env[LAMBDA_ENV.secretPrefix]?.replace(/\/+$/, '');
  if (!secretPrefix) return undefined;
  if (!/^[A-Za-z0-9/_+=.@-]{1,400}$/.test(secretPrefix)) throw new Error(`${LAMBDA_ENV.secretPrefix} must be a secret name prefix like nimbus/<stack>, not "${secretPrefix}"`);
  return {
    secretPrefix,
    recheckMinutes: integer(env, LAMBDA_ENV.cacheRecheckMinutes) ?? 60,
    maxFillBytes: integer(env, LAMBDA_ENV.cacheMaxFillBytes) ?? DEFAULT_CACHE_MAX_FILL_BYTES,
  };
}

function origin(env: NodeJS.ProcessEnv, name: string): string {
  const value = required(env, name).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/?#]+$/.test(value)) throw new Error(`${name} must be an origin like https://registry.example.com, not "${value}"`);
  return value;
}

function uploadEndpoint(env: NodeJS.ProcessEnv): LambdaSettings['uploadEndpoint'] {
  const origin = env[LAMBDA_ENV.uploadOrigin]?.replace(/\/+$/, '');
  if (!origin) return undefined;
  if (!/^https?:\/\/[^/?#]+$/.test(origin)) throw new Error(`${LAMBDA_ENV.uploadOrigin} must be an origin like https://uploads.example.com, not "${origin}"`);
  const cluster = env[LAMBDA_ENV.uploadEcsCluster];
  const service = env[LAMBDA_ENV.uploadEcsService];
  return { origin, ecs: cluster && service ? { cluster, service } : undefined };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not "${raw}"`);
  return value;
}
