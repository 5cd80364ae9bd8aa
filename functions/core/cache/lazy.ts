import type { PullThroughCache } from './cache';

/** What requests use of the pull-through cache (context.ts). */
export type CacheService = Pick<PullThroughCache, 'rules' | 'match' | 'refusePush' | 'manifest' | 'blob' | 'fill'>;

/**
 * The cache, loaded on its first use: a registry's cold start (a Lambda's module init) does
 * not parse the cache's code, and a request that never touches a cached repository never
 * loads it. One load, shared; a failed load is tried again by the next call.
 */
export function lazyCache(load: () => Promise<PullThroughCache>): CacheService {
  let loading: Promise<PullThroughCache> | undefined;
  const cache = () => (loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  }));
  return {
    rules: async () => (await cache()).rules(),
    match: async (repository) => (await cache()).match(repository),
    refusePush: async (repository) => (await cache()).refusePush(repository),
    manifest: async (ctx, repository, reference, local) => (await cache()).manifest(ctx, repository, reference, local),
    blob: async (ctx, repository, digest) => (await cache()).blob(ctx, repository, digest),
    fill: async (ctx, match, repository, digest) => (await cache()).fill(ctx, match, repository, digest),
  };
}
