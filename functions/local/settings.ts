import { resolve } from 'node:path';
import { isLogLevel } from '../adapters/node/logger';
import type { LogLevel } from '../core/index';
import { isAddressPolicy, type AddressPolicy } from '../core/events/addresses';
import { isWildcardHost, parsePublicUrl, publicUrlNeeded } from '../adapters/node/public-url';

/** Every setting of `npm start`, read from the environment; --help prints this table. */
export const SETTINGS = [
  ['HOST', '127.0.0.1', 'Address to listen on. Use 0.0.0.0 to serve other machines.'],
  ['PORT', '5000', 'Port to listen on.'],
  ['NIMBUS_DATA_DIR', './data', 'Where blobs, manifests, tags and upload sessions are stored.'],
  ['NIMBUS_FSYNC', 'on', 'on: flush files and their directories to disk before a request is answered (survives power loss). off: faster, survives process crashes only.'],
  ['NIMBUS_LOG_LEVEL', 'info', 'debug, info, warn or error. One JSON line per request at info; the "listening" line at every level.'],
  ['NIMBUS_PUBLIC_URL', '(http://HOST:PORT)', 'Origin clients reach the registry at (https://registry.example.com). Login challenges point there, never at the Host header a client sends. Required with NIMBUS_AUTH=on when HOST listens on every address (0.0.0.0, ::). https://HOST:PORT with TLS on.'],
  ['NIMBUS_TLS_CERT', '(none)', 'PEM certificate (chain) file: with NIMBUS_TLS_KEY, serve HTTPS (TLS 1.2 or newer). Both files are read again on SIGHUP; `npx nimbus tls init` makes a private CA and a certificate.'],
  ['NIMBUS_TLS_KEY', '(none)', 'PEM private key file of NIMBUS_TLS_CERT.'],
  ['NIMBUS_DRAIN_SECONDS', '10', 'On SIGTERM or SIGINT: seconds requests in flight may take to finish before their connections are closed.'],
  ['NIMBUS_IDLE_RELEASE', '2', 'Seconds without a request after which the server hands unused memory back to the system (one memory-reducing garbage collection, a pause of tens of milliseconds, once per quiet period; 0: never).'],
  ['NIMBUS_METRICS', 'off', 'off, on (Prometheus text at /metrics on the registry port) or a port number (/metrics on that port only, on HOST).'],
  ['NIMBUS_UPLOAD_URL_TTL', '3600', 'Seconds an upload Location stays valid.'],
  ['NIMBUS_UPLOAD_SESSION_TTL', '86400', 'Seconds an idle upload is kept before it is swept.'],
  ['NIMBUS_GC_INTERVAL', '3600', 'Seconds between background garbage collection passes (0: off). A pass frees the bytes of blobs no manifest uses once the safety window has passed, and sweeps abandoned uploads; `npx nimbus gc` runs one now.'],
  ['NIMBUS_GC_MIN_AGE', '86400', 'The safety window in seconds: a blob is collected only once unreferenced and untouched (not pushed, linked, mounted or released) for this long.'],
  ['NIMBUS_RETENTION_INTERVAL', '86400', 'Seconds between scheduled retention runs (0: off); the first comes 5 minutes after start (sooner with a shorter interval). A run applies the retention document and the pull-through cache rules\' lifecycles (expireUnpulledDays), as `npx nimbus retention run` does; with neither, a run reads the policies and stops.'],
  ['NIMBUS_WEBHOOK_ADDRESSES', 'private', 'Addresses webhook URLs may resolve to. private: public, private and loopback (link-local and cloud metadata, 169.254.0.0/16 and fd00:ec2::254, refused). public: public only. any: also link-local and metadata.'],
  ['NIMBUS_WEBHOOK_TIMEOUT', '10', 'Seconds a webhook receiver gets to answer a delivery.'],
  ['NIMBUS_WEBHOOK_BACKOFF_MAX', '3600', 'Longest wait in seconds between retries of a failed delivery (waits double from 1 s up to this).'],
  ['NIMBUS_WEBHOOK_MAX_ATTEMPTS', '24', 'Attempts before a delivery is dead-lettered (`npx nimbus webhook deliveries --state dead` lists them). The defaults retry for about 12 hours.'],
  ['NIMBUS_WEBHOOK_PULLS', '0', 'Seconds per pulled-events window (0: off). Manifest GETs are counted in memory and each window becomes one io.nimbus.manifest.pulled event per manifest and tag, for webhooks added with --events pull.'],
  ['NIMBUS_CACHE_RECHECK_MINUTES', '60', 'Pull-through cache: a cached tag is checked upstream (one HEAD) at most this often; 0 checks on every pull. Digests are never rechecked.'],
  ['NIMBUS_AUTH', 'off', 'on: require docker login (token auth; manage users with `npx nimbus`). off: anyone may push and pull, like registry:2.'],
  ['NIMBUS_AUTH_SERVICE', 'nimbus', 'With NIMBUS_AUTH=on: the service name in auth challenges and the audience of issued tokens.'],
  ['NIMBUS_AUTH_TOKEN_TTL', '300', 'With NIMBUS_AUTH=on: seconds an access token stays valid.'],
] as const;

export interface LocalSettings {
  host: string;
  port: number;
  dataDir: string;
  fsync: boolean;
  logLevel: LogLevel;
  /** NIMBUS_PUBLIC_URL; undefined: http://HOST:<bound port> (HOST is then a concrete address, or auth is off). */
  publicUrl: string | undefined;
  uploadUrlTtlSeconds: number;
  uploadSessionTtlSeconds: number;
  /** Seconds between background GC passes; 0 turns the loop off. */
  gcIntervalSeconds: number;
  /** The background passes' safety window, in seconds. */
  gcMinAgeSeconds: number;
  /** Seconds between scheduled retention runs; 0 turns the loop off. */
  retentionIntervalSeconds: number;
  auth: boolean;
  authService: string;
  authTokenTtlSeconds: number;
  /** NIMBUS_TLS_CERT and NIMBUS_TLS_KEY (paths), or undefined for plain HTTP. */
  tls: { certFile: string; keyFile: string } | undefined;
  drainSeconds: number;
  /** Quiet seconds before unused memory is handed back; 0: never. */
  idleReleaseSeconds: number;
  /** Pull-through cache: minutes between upstream checks of a cached tag. */
  cacheRecheckMinutes: number;
  /** 'off', 'on' (the registry port) or a port of its own. */
  metrics: 'off' | 'on' | number;
  webhookAddresses: AddressPolicy;
  webhookTimeoutSeconds: number;
  webhookBackoffMaxSeconds: number;
  webhookMaxAttempts: number;
  /** Seconds per pulled-events window; 0: pulls are not reported. */
  webhookPullSeconds: number;
}

export class SettingsError extends Error {}

export function readSettings(env: NodeJS.ProcessEnv): LocalSettings {
  const logLevel = env.NIMBUS_LOG_LEVEL ?? 'info';
  if (!isLogLevel(logLevel)) throw new SettingsError(`NIMBUS_LOG_LEVEL must be debug, info, warn or error, not "${logLevel}"`);
  const fsync = env.NIMBUS_FSYNC ?? 'on';
  if (fsync !== 'on' && fsync !== 'off') throw new SettingsError(`NIMBUS_FSYNC must be on or off, not "${fsync}"`);
  const auth = env.NIMBUS_AUTH || 'off';
  if (auth !== 'on' && auth !== 'off') throw new SettingsError(`NIMBUS_AUTH must be on or off, not "${auth}"`);
  const publicUrl = parsePublicUrl(env.NIMBUS_PUBLIC_URL);
  if ('error' in publicUrl) throw new SettingsError(publicUrl.error);
  const authService = env.NIMBUS_AUTH_SERVICE || 'nimbus';
  if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(authService)) {
    throw new SettingsError('NIMBUS_AUTH_SERVICE must be 1-128 printable characters without spaces, quotes or backslashes');
  }
  const host = env.HOST || '127.0.0.1';
  const port = integer(env, 'PORT', 5000, 0, 65535);
  if (auth === 'on' && !publicUrl.url && isWildcardHost(host)) throw new SettingsError(publicUrlNeeded(host, port));
  const tls = tlsFiles(env);
  return {
    host,
    port,
    dataDir: resolve(env.NIMBUS_DATA_DIR || './data'),
    fsync: fsync === 'on',
    logLevel,
    publicUrl: publicUrl.url,
    uploadUrlTtlSeconds: integer(env, 'NIMBUS_UPLOAD_URL_TTL', 3600, 60, 7 * 86400),
    uploadSessionTtlSeconds: integer(env, 'NIMBUS_UPLOAD_SESSION_TTL', 86400, 300, 30 * 86400),
    gcIntervalSeconds: integer(env, 'NIMBUS_GC_INTERVAL', 3600, 0, 30 * 86400),
    gcMinAgeSeconds: integer(env, 'NIMBUS_GC_MIN_AGE', 86400, 0, 10 * 365 * 86400),
    retentionIntervalSeconds: integer(env, 'NIMBUS_RETENTION_INTERVAL', 86400, 0, 30 * 86400),
    auth: auth === 'on',
    authService,
    authTokenTtlSeconds: integer(env, 'NIMBUS_AUTH_TOKEN_TTL', 300, 60, 86400),
    tls,
    drainSeconds: integer(env, 'NIMBUS_DRAIN_SECONDS', 10, 0, 3600),
    idleReleaseSeconds: integer(env, 'NIMBUS_IDLE_RELEASE', 2, 0, 86400),
    metrics: metricsSetting(env.NIMBUS_METRICS),
    webhookAddresses: addressSetting(env.NIMBUS_WEBHOOK_ADDRESSES),
    webhookTimeoutSeconds: integer(env, 'NIMBUS_WEBHOOK_TIMEOUT', 10, 1, 120),
    webhookBackoffMaxSeconds: integer(env, 'NIMBUS_WEBHOOK_BACKOFF_MAX', 3600, 1, 86400),
    webhookMaxAttempts: integer(env, 'NIMBUS_WEBHOOK_MAX_ATTEMPTS', 24, 1, 1000),
    webhookPullSeconds: integer(env, 'NIMBUS_WEBHOOK_PULLS', 0, 0, 86400),
    cacheRecheckMinutes: integer(env, 'NIMBUS_CACHE_RECHECK_MINUTES', 60, 0, 7 * 24 * 60),
  };
}

function tlsFiles(env: NodeJS.ProcessEnv): LocalSettings['tls'] {
  const cert = env.NIMBUS_TLS_CERT?.trim();
  const key = env.NIMBUS_TLS_KEY?.trim();
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new SettingsError('NIMBUS_TLS_CERT and NIMBUS_TLS_KEY go together: set both (PEM files) for HTTPS, or neither for plain HTTP');
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

function addressSetting(raw: string | undefined): AddressPolicy {
  const value = raw?.trim() || 'private';
  if (isAddressPolicy(value)) return value;
  throw new SettingsError(`NIMBUS_WEBHOOK_ADDRESSES must be private, public or any, not "${value}"`);
}

function metricsSetting(raw: string | undefined): LocalSettings['metrics'] {
  const value = raw?.trim() || 'off';
  if (value === 'off' || value === 'on') return value;
  const port = Number(value);
  if (Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw new SettingsError(`NIMBUS_METRICS must be off, on or a port number (1-65535), not "${value}"`);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

export function helpText(): string {
  const width = Math.max(...SETTINGS.map(([name]) => name.length)) + 2;
  const rows = SETTINGS.map(([name, fallback, text]) => `  ${name.padEnd(width)}${text}\n  ${''.padEnd(width)}default: ${fallback}`);
  return [
    'Usage: npm start [-- --help | --healthcheck]',
    '',
    'Runs the Nimbus OCI registry on local disk: a drop-in for `docker run -p 5000:5000 registry:2`.',
    '',
    'Settings (environment variables):',
    ...rows,
    '',
    '--healthcheck asks the server these settings describe for /healthz and exits 0 if it answers 200 (the image\'s HEALTHCHECK).',
    '',
    'Example: PORT=5001 NIMBUS_DATA_DIR=/var/lib/nimbus npm start',
  ].join('\n');
}
