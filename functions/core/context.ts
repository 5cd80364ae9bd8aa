import type { Authorizer, Principal } from './access';
import type { CapabilitySigner } from './capability';
import type { ResolvedConfig } from './config';
import type { BlobStore, Clock, Hashing, Logger, MetadataStore } from './ports';
import type { Uploads } from './upload/uploads';
import type { DirectService } from './direct/direct-uploads';
import type { BlobLocks } from './gc/ports';
import type { GcPasses } from './gc/serial';
import type { PolicyInventory, PolicyStore } from './policy/ports';
import type { WebhookEvents } from './events/services';
import type { CacheService } from './cache/lazy';
import type { CacheSecrets } from './cache/ports';

/** Everything a handler may use, built once per registry. */
export interface Services {
  blobs: BlobStore;
  metadata: MetadataStore;
  uploads: Uploads;
  direct: DirectService;
  signer: CapabilitySigner;
  hashing: Hashing;
  authorizer: Authorizer;
  clock: Clock;
  logger: Logger;
  config: ResolvedConfig;
  /** Garbage collection passes, one at a time; absent when the store offers no GcStore. */
  gc?: GcPasses;
  blobLocks?: BlobLocks;
  /** Retention and immutability documents; undefined when the registry has none (no policy routes). */
  policies: PolicyStore | undefined;
  /** Tags and manifests with their times, for retention and pull-time recording. */
  inventory: PolicyInventory | undefined;
  /** Webhooks and their durable events; undefined when the registry has none (404 on the webhook routes). */
  events?: WebhookEvents;
  /** The pull-through cache, when the registry has one (and a policy store for its rules). */
  cache?: CacheService;
  cacheSecrets?: CacheSecrets;
}

export interface RouteParams {
  name?: string;
  reference?: string;
  digest?: string;
  session?: string;
  webhook?: string;
  /** A file of the browse UI (/ui/<asset>); '' for /ui/. */
  asset?: string;
}

export interface RequestContext {
  request: Request;
  url: URL;
  requestId: string;
  params: RouteParams;
  /** Set by the router after authorization. */
  principal: Principal;
  services: Services;
}

/** The repository name of a repository-scoped route (validated by the router). */
export function repositoryOf(ctx: RequestContext): string {
  if (!ctx.params.name) throw new Error('route has no repository name');
  return ctx.params.name;
}
