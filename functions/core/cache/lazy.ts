import { lazyService } from '../lazy-service';
import type { PullThroughCache } from './cache';

/** What requests use of the pull-through cache (context.ts). */
export type CacheService = Pick<PullThroughCache, 'rules' | 'match' | 'refusePush' | 'manifest' | 'blob' | 'fill'>;

/** The cache, loaded on its first use (lazy-service.ts). */
export function lazyCache(load: () => Promise<PullThroughCache>): CacheService {
  return lazyService(load, ['rules', 'match', 'refusePush', 'manifest', 'blob', 'fill']);
}
