/**
 * What the pull-through cache (issue 15) needs beyond the registry's stores: a way to reach
 * upstream registries, and somewhere to keep their credentials. Adapters implement both
 * (node:http with address checks, files under meta/secrets/).
 */
import type { Leases } from '../ports';

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
}

/**
 * HTTP to upstream registries. Implementations follow redirects themselves (at most a few),
 * refuse any target on a link-local or cloud metadata address (isMetadataAddress in rules.ts),
 * checked on the address actually connected to, and drop Authorization when a redirect
 * leaves the origin. Network failures reject; every HTTP status resolves.
 */
export interface UpstreamHttp {
  fetch(url: string, request: UpstreamRequest): Promise<Response>;
}

export interface UpstreamCredentials {
  username: string;
  password: string;
}

/** Credentials of cache rules, by secretKeyOf(prefix). Never listed, never logged. */
export interface CacheSecrets {
  get(key: string): Promise<UpstreamCredentials | undefined>;
  put(key: string, credentials: UpstreamCredentials): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Which tags the root mirror filled (`<repository>:<tag>`): it covers every repository no prefix
 * rule does, so it rechecks and moves only tags it filled itself; a tag people pushed is never
 * touched by it. Kept durably so a restart does not forget them.
 */
export interface CacheMarks {
  isFilled(tag: string): Promise<boolean>;
  markFilled(tag: string): Promise<void>;
  /**
   * When a cached tag (`<repository>:<tag>`) was last confirmed upstream (epoch ms), kept durably
   * so a restart (or another Lambda instance) does not recheck it before its interval is over.
   * Read only when the process's own memory of it is stale, written once per recheck; losing one
   * costs one extra HEAD, so implementations need not fsync.
   */
  checkedAt(tag: string): Promise<number | undefined>;
  markChecked(tag: string, at: number): Promise<void>;
}

/**
 * Single flight across processes (issue 15 on AWS: one Lambda instance per concurrent request):
 * a lease per blob fill, so only its holder fetches the blob from upstream while the others
 * wait for the stored copy.
 */
export type FillLeases = Leases;

/** Marks in memory (tests, and stores without a place for them). */
export function memoryCacheMarks(): CacheMarks {
  const filled = new Set<string>();
  const checked = new Map<string, number>();
  return {
    isFilled: async (tag) => filled.has(tag), markFilled: async (tag) => void filled.add(tag),
    checkedAt: async (tag) => checked.get(tag), markChecked: async (tag, at) => void checked.set(tag, at),
  };
}
