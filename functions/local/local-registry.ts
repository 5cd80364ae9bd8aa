import { FsBlobStore } from '../adapters/fs/blob-store';
import { FsMetadataStore } from '../adapters/fs/metadata-store';
import { nodeHashing } from '../adapters/node/hashing';
import { createRegistry, type Authorizer, type Logger, type Registry } from '../core/index';
import { refOf } from '../core/upload/uploads';
import { loadOrCreateSecret } from './data-dir';
import type { LocalSettings } from './settings';

export interface LocalRegistry {
  registry: Registry;
  /** Reclaims uploads abandoned past their expiry; returns how many. */
  sweepExpiredUploads(): Promise<number>;
}

/** The registry on local disk: filesystem stores, node:crypto hashing. */
export async function createLocalRegistry(settings: LocalSettings, logger: Logger, authorizer?: Authorizer): Promise<LocalRegistry> {
  const blobs = new FsBlobStore(settings.dataDir, { fsync: settings.fsync });
  const metadata = new FsMetadataStore(settings.dataDir, { fsync: settings.fsync });
  await Promise.all([blobs.init(), metadata.init()]);
  const registry = createRegistry({
    blobs,
    metadata,
    logger,
    hashing: nodeHashing(),
    ...(authorizer ? { authorizer } : {}),
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
    async sweepExpiredUploads() {
      const expired = await metadata.expiredUploads(Math.floor(Date.now() / 1000));
      for (const session of expired) {
        await blobs.abortUpload(refOf(session));
        await metadata.deleteUpload(session.id);
      }
      return expired.length;
    },
  };
}
