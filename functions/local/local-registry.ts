import { FsBlobStore } from '../adapters/fs/blob-store';
import { authOffAuthorizer } from './auth-off';
import { FsIdentityStore } from '../adapters/fs/identity-store';
import { FsMetadataStore } from '../adapters/fs/metadata-store';
import { FsGcStore } from '../adapters/fs/gc-store';
import { KeyedMutex } from '../adapters/fs/keyed-mutex';
import { FsPolicyStore } from '../adapters/fs/policy-store';
import { FsCacheSecrets } from '../adapters/fs/cache-secrets';
import { FsCacheMarks } from '../adapters/fs/cache-marks';
import { nodeUpstreamHttp } from '../adapters/node/upstream-http';
import { createTokenAuthorizer } from '../auth/index';
import { loadOrCreateKeySet } from '../adapters/fs/key-file';
import { nodeHashing } from '../adapters/node/hashing';
import { CLIENT_ADDRESS_HEADER } from '../core/http/headers';
import { createRegistry, type Authorizer, type Logger, type Registry } from '../core/index';
import { loadOrCreateSecret } from '../adapters/fs/data-dir';
import { originOf } from '../adapters/node/public-url';
import type { LocalSettings } from './settings';
import { createLocalWebhooks, type LocalWebhooks } from './webhooks';

export interface LocalRegistry {
  registry: Registry;
  /** The garbage collector's view of the data dir (passes run through registry.services.gc). */
  gc: FsGcStore;
  /** Reclaims uploads abandoned past their expiry; returns how many. */
  sweepExpiredUploads(): Promise<number>;
  /** Upload sessions on disk (a metric). */
  uploadCount(): Promise<number>;
  /** Webhooks: main.ts starts the delivery worker once the server listens. */
  webhooks: LocalWebhooks;
}

/**
 * The registry on local disk: filesystem stores, node:crypto hashing. `publicUrl` gives the
 * origin login challenges point at (main.ts knows the port only once it listens).
 */
export async function createLocalRegistry(
  settings: LocalSettings,
  logger: Logger,
  authorizer?: Authorizer,
  publicUrl: () => string = () => settings.publicUrl ?? originOf(settings.host, settings.port),
): Promise<LocalRegistry> {
  const blobs = new FsBlobStore(settings.dataDir, { fsync: settings.fsync });
  const metadata = new FsMetadataStore(settings.dataDir, { fsync: settings.fsync });
  // Held by upload completion, mounts and the collector: bytes of one digest are one file.
  const blobLocks = new KeyedMutex();
  const gc = new FsGcStore(settings.dataDir, { metadata, locks: blobLocks, fsync: settings.fsync });
  await Promise.all([blobs.init(), metadata.init()]);
  // A crashed server's leases would block resuming its uploads until they expire.
  await metadata.releaseAllLeases();
  const webhooks = await createLocalWebhooks(settings, metadata, logger);
  // The repository index (the catalog, the browse UI's search) is built on first use by walking the
  // data dir: seconds at 10,000 repositories. Start it now, so the first page does not wait for it.
  metadata.listRepositories({ limit: 1 }).catch((error: unknown) => logger.log('warn', 'repository index warm-up failed', { error: String(error) }));
  const registry = createRegistry({
    blobs,
    metadata,
    policies: new FsPolicyStore(settings.dataDir, { fsync: settings.fsync }),
    inventory: metadata,
    logger,
    hashing: nodeHashing(),
    gc,
    blobLocks,
    events: webhooks.events,
    // Pull-through cache: rules in meta/policies/cache.json, upstream credentials in meta/secrets/cache/.
    cache: {
      http: nodeUpstreamHttp(), secrets: new FsCacheSecrets(settings.dataDir, { fsync: settings.fsync }), marks: new FsCacheMarks(settings.dataDir),
      tagRecheckSeconds: settings.cacheRecheckMinutes * 60,
    },
    authorizer: authorizer ?? (settings.auth ? await localAuthorizer(settings, logger, publicUrl) : authOffAuthorizer),
    config: {
      uploadSecret: await loadOrCreateSecret(settings.dataDir, 'upload-hmac.key'),
      uploadUrlTtlSeconds: settings.uploadUrlTtlSeconds,
      uploadSessionTtlSeconds: settings.uploadSessionTtlSeconds,
      // Local disk serves bytes itself; there is nothing to redirect to.
      blobRedirectSeconds: 0,
    },
  });
  return {
    registry,
    gc,
    async sweepExpiredUploads() {
      // Expired sessions only: the safety window does not apply to sessions past their TTL.
      return (await gc.sweepUploads(Date.now(), false, true)).uploads;
    },
    uploadCount: () => metadata.uploadCount(),
    webhooks,
  };
}

/** NIMBUS_AUTH=on: users and grants in <data>/meta/auth/, the signing key in <data>/meta/secrets/. */
async function localAuthorizer(settings: LocalSettings, logger: Logger, publicUrl: () => string): Promise<Authorizer> {
  return createTokenAuthorizer({
    publicUrl,
    store: new FsIdentityStore(settings.dataDir, { fsync: settings.fsync }),
    keys: await loadOrCreateKeySet(settings.dataDir),
    service: settings.authService,
    accessTtlSeconds: settings.authTokenTtlSeconds,
    logger,
    clientAddress: (request) => request.headers.get(CLIENT_ADDRESS_HEADER) ?? undefined,
  });
}
