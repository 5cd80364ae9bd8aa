import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { createRegistry } from '../functions/core/index';
import type { SecretVault } from '../functions/adapters/aws/secret-vault';
import { CliError } from './errors';
import { errorMessage } from './push/auth';
import { localDataDir, type TargetOptions } from './target';

/**
 * Where `nimbus gc`, `nimbus retention` and `nimbus immutability` send their /v2/_nimbus/ admin
 * requests:
 *  - a running registry (--registry URL or NIMBUS_URL), over HTTP with the admin scope
 *    `registry:nimbus:*` (credentials: NIMBUS_USERNAME/NIMBUS_PASSWORD or docker login);
 *  - else the registry's storage, in this process, through the same core and routes: the local
 *    data dir under its lock (while `npm start` holds it, through that server, at the URL it wrote
 *    to <data>/.url: only it may write there), or the DynamoDB table (--table/--stack,
 *    --dynamodb-local) with its bucket (--bucket), which garbage collection and deleting manifests
 *    whose bodies are in S3 need.
 */
export interface AdminEndpoint {
  /** Describes the target, for summaries. */
  readonly where: string;
  request(method: string, path: string, init?: { body?: string; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

export interface AdminOptions extends TargetOptions {
  registry?: string;
  bucket?: string;
  s3Endpoint?: string;
  /** What the command needs the bucket for, when it cannot work on a table without it (garbage collection). */
  needsBucketFor?: string;
  /** What the command needs the stack's Secrets Manager prefix for (webhook secrets), when --table alone cannot name it. */
  needsSecretsFor?: string;
}

export function addAdminTargetOptions(command: Command): Command {
  return command
    .option('--registry <url>', 'a running registry to administer over HTTP (default: $NIMBUS_URL; else its storage, in process)')
    .option('--bucket <name>', 'with --table/--stack/--dynamodb-local: the registry bucket (needed to delete manifests stored in S3)')
    .option('--s3-endpoint <url>', 'with --dynamodb-local: the S3 emulator endpoint of npm run dev:aws');
}

export async function openAdminEndpoint(options: AdminOptions): Promise<AdminEndpoint> {
  // An explicit storage target wins over NIMBUS_URL from the environment; --registry over both.
  const explicitStorage = options.dataDir !== undefined || options.table !== undefined || options.stack !== undefined || options.dynamodbLocal !== undefined;
  const url = options.registry ?? (explicitStorage ? undefined : process.env.NIMBUS_URL || undefined);
  if (url) return httpEndpoint(url);
  const dataDir = localDataDir(options);
  if (dataDir !== undefined) return localEndpoint(dataDir);
  return dynamoEndpoint(options);
}

async function httpEndpoint(base: string): Promise<AdminEndpoint> {
  if (!URL.canParse(base)) throw new CliError(`--registry takes a URL such as http://localhost:5000, not "${base}"`);
  const origin = new URL(base).origin;
  const host = new URL(base).host;
  // Loaded here, not at the top: `nimbus --help` and every other command start without them.
  const [{ RegistryAuth }, { resolveCredentials }] = await Promise.all([import('./push/auth'), import('./push/credentials')]);
  const auth = new RegistryAuth({ host, repository: 'registry administration', credentials: await resolveCredentials(host, {}), scope: 'registry:nimbus:*', fetch });
  const send = (method: string, path: string, init: { body?: string; headers?: Record<string, string> }) => fetch(`${origin}${path}`, {
    method, ...(init.body === undefined ? {} : { body: init.body }),
    headers: { ...(init.headers ?? {}), ...(auth.header ? { authorization: auth.header } : {}) },
  }).catch((error: unknown) => {
    throw new CliError(`cannot reach ${origin}: ${(error as Error).message} (is the registry running?)`);
  });
  return {
    where: origin,
    async request(method, path, init = {}) {
      const first = await send(method, path, init);
      if (first.status !== 401) return first;
      await first.body?.cancel();
      await auth.answer(first);
      const second = await send(method, path, init);
      if (second.status === 401) throw auth.refused(errorMessage(await second.text()) ?? 'HTTP 401');
      return second;
    },
    async close() {},
  };
}

function inProcess(where: string, registry: ReturnType<typeof createRegistry>, close: () => Promise<void>): AdminEndpoint {
  return {
    where,
    request: (method, path, init = {}) => registry.fetch(new Request(`http://nimbus.cli${path}`, {
      method, ...(init.body === undefined ? {} : { body: init.body }), headers: init.headers ?? {},
    })),
    close,
  };
}

async function localEndpoint(dataDir: string): Promise<AdminEndpoint> {
  if (!existsSync(dataDir)) throw new CliError(`no data directory at ${dataDir}: point --data-dir or NIMBUS_DATA_DIR at the one npm start uses`);
  const [{ FsBlobStore }, { FsMetadataStore }, { FsPolicyStore }, { FsGcStore }, { KeyedMutex }, { lockDataDir }, { createRegistry }, { FsCacheSecrets }, { nodeUpstreamHttp }] = await Promise.all([
    import('../functions/adapters/fs/blob-store'), import('../functions/adapters/fs/metadata-store'), import('../functions/adapters/fs/policy-store'),
    import('../functions/adapters/fs/gc-store'), import('../functions/adapters/fs/keyed-mutex'), import('../functions/adapters/fs/data-dir'),
    import('../functions/core/index'), import('../functions/adapters/fs/cache-secrets'), import('../functions/adapters/node/upstream-http'),
  ]);
  let unlock: () => Promise<void>;
  try {
    unlock = await lockDataDir(dataDir);
  } catch (error) {
    // The server holding the data dir wrote where it listens: only it may write there, so go through it.
    const url = (await readFile(join(dataDir, '.url'), 'utf8').catch(() => '')).trim();
    if (url) return httpEndpoint(url);
    throw new CliError(`${(error as Error).message} To administer a running registry, go through it: --registry http://localhost:5000 (or set NIMBUS_URL).`);
  }
  const metadata = new FsMetadataStore(dataDir);
  const blobs = new FsBlobStore(dataDir);
  await Promise.all([metadata.init(), blobs.init()]);
  const blobLocks = new KeyedMutex();
  const registry = createRegistry({
    blobs, metadata, policies: new FsPolicyStore(dataDir), inventory: metadata, config: { uploadSecret: randomBytes(32) },
    gc: new FsGcStore(dataDir, { metadata, locks: blobLocks }), blobLocks, events: await localWebhookEvents(dataDir),
    cache: { http: nodeUpstreamHttp(), secrets: new FsCacheSecrets(dataDir) },
  });
  return inProcess(`${dataDir} (in-process)`, registry, unlock);
}

/** Webhooks of a data dir no server holds: events go to its outbox, which the next npm start delivers. */
async function localWebhookEvents(dataDir: string) {
  const [{ FsOutbox }, { FsWebhookStore }, { EventRecorder }, transport, { isAddressPolicy }] = await Promise.all([
    import('../functions/adapters/fs/outbox'), import('../functions/adapters/fs/webhook-store'), import('../functions/core/events/recorder'),
    import('../functions/adapters/node/webhook-transport'), import('../functions/core/events/addresses'),
  ]);
  const setting = process.env.NIMBUS_WEBHOOK_ADDRESSES?.trim() || 'private';
  if (!isAddressPolicy(setting)) throw new CliError(`NIMBUS_WEBHOOK_ADDRESSES must be private, public or any, not "${setting}"`);
  const recorder = new EventRecorder({ outbox: new FsOutbox(dataDir), webhooks: new FsWebhookStore(dataDir), clock: { now: () => Date.now() }, logger: { log() {} } });
  return { recorder, transport: transport.nodeWebhookTransport(setting), addressPolicy: setting, resolve: transport.resolveHost, timeoutMs: 10_000 };
}

async function dynamoEndpoint(options: AdminOptions): Promise<AdminEndpoint> {
  const [{ createAwsStores }, { resolveBucket, resolveTable }, { createRegistry }, { awsWebhookEvents, readEventSettings }, { tableCacheDeps }] = await Promise.all([
    import('../functions/adapters/aws/index'), import('./deployed'), import('../functions/core/index'), import('../functions/adapters/aws/webhook-events'),
    import('./table-cache'),
  ]);
  const table = await resolveTable(options);
  const bucket = await resolveBucket(options);
  if (!bucket && options.needsBucketFor) {
    throw new CliError(`${options.needsBucketFor} on a table needs its bucket too: --bucket NAME (the stack's BlobBucketName output${options.dynamodbLocal ? '; npm run dev:aws prints it' : ''})`);
  }
  if (options.needsSecretsFor && !secretPrefixOf(options)) {
    throw new CliError(`${options.needsSecretsFor} on a table needs the stack's Secrets Manager prefix (its webhook secrets are nimbus/<stack>/webhook/<id>): pass --stack NAME, or set NIMBUS_SECRET_PREFIX=nimbus/<stack>`);
  }
  const local = options.dynamodbLocal;
  const stores = createAwsStores({
    table,
    // Deleting a manifest whose body is in S3 and garbage collection need the bucket.
    bucket: bucket ?? 'nimbus-bucket-not-given',
    ...(local
      ? { region: options.region ?? 'us-east-1', emulator: true, endpoints: { dynamodb: local, ...(options.s3Endpoint ? { s3: options.s3Endpoint } : {}) } }
      : (options.region ? { region: options.region } : {})),
  });
  const registry = createRegistry({
    blobs: stores.blobs, metadata: stores.metadata, policies: stores.policies, inventory: stores.metadata, config: { uploadSecret: randomBytes(32) },
    ...(bucket ? { gc: stores.gc } : {}),
    // Webhooks in the table, their secrets in Secrets Manager; what is recorded here the stack's events function delivers.
    events: awsWebhookEvents(stores.clients.dynamodb, table, await webhookSecretVault(options), readEventSettings(process.env), { log() {} }),
    // Cache rules in the table, credentials in the stack's Secrets Manager prefix.
    cache: await tableCacheDeps(options),
  });
  return inProcess(`table ${table}`, registry, async () => {});
}

/**
 * The prefix of a deployed stack's run-time secrets (webhook secrets): NIMBUS_SECRET_PREFIX, else
 * `nimbus/<stack>` with --stack, else `nimbus/dev` with --dynamodb-local (dev:aws's stub, reached
 * through AWS_ENDPOINT_URL_SECRETS_MANAGER). undefined with --table alone: the table does not
 * say which stack it belongs to.
 */
export function secretPrefixOf(options: TargetOptions): string | undefined {
  const fromEnv = process.env.NIMBUS_SECRET_PREFIX?.trim();
  if (fromEnv) return fromEnv;
  if (options.stack) return `nimbus/${options.stack}`;
  return options.dynamodbLocal ? 'nimbus/dev' : undefined;
}

/**
 * The stack's run-time secrets (webhook secrets, cache credentials) in Secrets Manager, as the
 * deployed functions keep them; undefined when the stack's prefix is not known (secretPrefixOf).
 */
export async function cliSecretVault(options: AdminOptions): Promise<SecretVault | undefined> {
  const prefix = secretPrefixOf(options);
  if (!prefix) return undefined;
  const [{ SecretsManagerClient }, { SecretsManagerVault }] = await Promise.all([
    import('@aws-sdk/client-secrets-manager'), import('../functions/adapters/aws/secret-vault'),
  ]);
  const client = new SecretsManagerClient({
    ...(options.region ? { region: options.region } : options.dynamodbLocal ? { region: 'us-east-1' } : {}),
    ...(options.dynamodbLocal ? { credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' } } : {}),
  });
  return new SecretsManagerVault(client, prefix);
}

async function webhookSecretVault(options: AdminOptions): Promise<SecretVault> {
  const refuse = () => Promise.reject(new CliError('webhook secrets need the stack\'s secret prefix: pass --stack NAME or set NIMBUS_SECRET_PREFIX'));
  return (await cliSecretVault(options)) ?? { get: refuse, put: refuse, delete: refuse };
}

/** The JSON of a successful answer, or a CliError with the registry's message. */
export async function expectOk<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new CliError(`${what} failed (HTTP ${response.status}): ${errorMessage(text) ?? text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}
