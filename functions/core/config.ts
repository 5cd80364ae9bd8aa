import type { Authorizer } from './access';
import type { PolicyInventory, PolicyStore } from './policy/ports';
import type { BlobStore, Clock, Hashing, Logger, MetadataStore, TaskQueue, Timers } from './ports';
import type { BlobLocks, GcStore } from './gc/ports';
import type { WebhookEvents } from './events/services';
import type { CacheMarks, CacheSecrets, FillLeases, UpstreamHttp } from './cache/ports';

export interface RegistryConfig {
  /** HMAC key (≥ 32 bytes) that signs upload Location capabilities. */
  readonly uploadSecret: Uint8Array;
  /**
   * Absolute origin (https://uploads.example.com) for upload Locations, when uploads are
   * served by another endpoint than the API. @default relative Locations on this host
   */
  readonly uploadOrigin?: string;
  /** How long an upload Location stays valid. @default 3600 */
  readonly uploadUrlTtlSeconds?: number;
  /** How long an idle upload session is kept. @default 86400 */
  readonly uploadSessionTtlSeconds?: number;
  /**
   * Lifetime of a request's lease on an upload session (upload/lease.ts). The request renews
   * it every third of this while it runs, and a process that dies keeps its uploads at most
   * this long. @default 300 (a single process, npm start: its restart frees every lease)
   */
  readonly uploadLeaseSeconds?: number;
  /** Largest manifest accepted. @default 4 MiB, as the spec recommends */
  readonly maxManifestBytes?: number;
  /**
   * Largest request body this deployment can carry (a Lambda invoke), advertised as
   * OCI-Chunk-Max-Length; larger bodies get 413. @default unlimited
   */
  readonly maxRequestBodyBytes?: number;
  /** Lifetime of presigned blob URLs; 0 serves blob bytes directly. @default 300 */
  readonly blobRedirectSeconds?: number;
  /** Lifetime of presigned part URLs of direct uploads. @default 3600 */
  readonly directPartUrlTtlSeconds?: number;
}

export interface RegistryDeps {
  readonly blobs: BlobStore;
  readonly metadata: MetadataStore;
  readonly config: RegistryConfig;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default the runtime's setInterval */
  readonly timers?: Timers;
  /** @default no logging */
  readonly logger?: Logger;
  /** @default hash-wasm (portable, resumable) */
  readonly hashing?: Hashing;
  /** @default allow everything (auth off) */
  readonly authorizer?: Authorizer;
  /** Where background work goes. @default run it inline, within the request */
  readonly tasks?: TaskQueue;
  /** Online garbage collection (POST /v2/_nimbus/gc). @default none: the route answers 404 UNSUPPORTED */
  readonly gc?: GcStore;
  /** Held around upload completion and mounts, when the store's collectBlob needs it (gc/ports.ts). @default none */
  readonly blobLocks?: BlobLocks;
  /** Retention and immutability documents. @default none: immutability off, no policy routes */
  readonly policies?: PolicyStore;
  /** Usually the metadata store itself. @default none: no pull times, no retention runs */
  readonly inventory?: PolicyInventory;
  /** Webhooks: events recorded with each change, and the admin routes. @default none */
  readonly events?: WebhookEvents;
  /**
   * Pull-through cache (core/cache/): how to reach upstreams and where their credentials are.
   * Needs `policies` (the rules are a policy document). @default none: no cache, no cache routes
   */
  readonly cache?: CacheDeps;
}

export interface CacheDeps {
  readonly http: UpstreamHttp;
  readonly secrets: CacheSecrets;
  /** Tags the root mirror filled. @default in memory */
  readonly marks?: CacheMarks;
  /** A cached tag is rechecked upstream (HEAD) at most this often. @default 3600 */
  readonly tagRecheckSeconds?: number;
  /**
   * How a blob fill answers its first requester: `stream` sends the upstream's bytes as they
   * arrive; `store-first` answers once the blob is stored, as any stored blob (a redirect to
   * storage), for hosts that cannot stream a layer (Lambda behind API Gateway). @default 'stream'
   */
  readonly blobFills?: 'stream' | 'store-first';
  /**
   * Blob fills run on this origin (the upload endpoint on AWS, which can hold a long request):
   * a miss answers 307 there, with a signed capability (core/cache/fill-link.ts). @default fills run here
   */
  readonly fillOrigin?: string;
  /** Largest blob a fill takes from upstream (bytes); larger ones answer 503. @default no limit */
  readonly maxBlobFillBytes?: number;
  /**
   * Single flight across processes: one fill per blob among all of them, with how long a lease
   * lasts (longer than a fill can run) and how long others wait for it. @default this process only
   */
  readonly fillLeases?: FillLeases;
  readonly fillLeaseSeconds?: number;
  readonly fillWaitSeconds?: number;
  /**
   * How long a process trusts the cache rules it read (policy/recent-policies.ts): rules changed
   * by another process take effect here within this long. @default 0: read on every use
   */
  readonly rulesCacheSeconds?: number;
}

export interface ResolvedConfig {
  uploadSecret: Uint8Array;
  uploadOrigin: string | undefined;
  uploadUrlTtlSeconds: number;
  uploadSessionTtlSeconds: number;
  uploadLeaseSeconds: number;
  maxManifestBytes: number;
  maxRequestBodyBytes: number | undefined;
  blobRedirectSeconds: number;
  directPartUrlTtlSeconds: number;
}

export const MiB = 1024 * 1024;

export function resolveConfig(config: RegistryConfig): ResolvedConfig {
  return {
    uploadSecret: config.uploadSecret,
    uploadOrigin: config.uploadOrigin?.replace(/\/+$/, ''),
    uploadUrlTtlSeconds: config.uploadUrlTtlSeconds ?? 3600,
    uploadSessionTtlSeconds: config.uploadSessionTtlSeconds ?? 86_400,
    uploadLeaseSeconds: config.uploadLeaseSeconds ?? 300,
    maxManifestBytes: config.maxManifestBytes ?? 4 * MiB,
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    blobRedirectSeconds: config.blobRedirectSeconds ?? 300,
    directPartUrlTtlSeconds: config.directPartUrlTtlSeconds ?? 3600,
  };
}
