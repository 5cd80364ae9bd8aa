/**
 * What retention and immutability (issue 12) need of storage: the two policy documents,
 * kept with a version for compare-and-swap, and a read-only inventory of tags and
 * manifests with the times retention decides on. fs and DynamoDB implement both.
 */

/** A stored policy document and its ETag (changes with every write). */
export interface StoredPolicy<T> {
  readonly document: T;
  readonly etag: string;
}

/** `cache`: pull-through cache rules (core/cache/rules.ts), kept like the other documents. */
export type PolicyKind = 'retention' | 'immutability' | 'cache';

export interface PolicyStore {
  /** The document of `kind`, or undefined when none was ever set. */
  get(kind: PolicyKind): Promise<StoredPolicy<unknown> | undefined>;
  /**
   * Replaces the document and returns its new ETag. With `ifMatch`, only if the stored ETag is
   * still that one (`*`: if any is stored), else throws StoreConflictError (compare-and-swap).
   */
  put(kind: PolicyKind, document: unknown, ifMatch?: string): Promise<string>;
}

/** A tag with the times retention needs. */
export interface TagInfo {
  readonly tag: string;
  readonly digest: string;
  /** Epoch ms the tag was last pushed (set to a digest, even the same one). */
  readonly pushedAt: number;
  /** Epoch ms of the last recorded pull by tag (at most a day stale), undefined if never. */
  readonly pulledAt?: number;
}

/** A stored manifest, as retention sees it. */
export interface ManifestInfo {
  readonly digest: string;
  readonly size: number;
  readonly createdAt: number;
  readonly subject?: string;
  /** Blobs it references (config, layers). */
  readonly blobs: readonly string[];
  /** Manifests an index lists. */
  readonly children: readonly string[];
}

/** Pull times are recorded at most once per this period per tag. */
export const PULL_RECORD_INTERVAL_MS = 24 * 60 * 60 * 1000;

export interface PolicyInventory {
  /** Every tag of a repository with its digest and times. */
  listTagInfo(repository: string): Promise<TagInfo[]>;
  /** Every manifest stored in a repository, tagged or not. */
  listManifestInfo(repository: string): Promise<ManifestInfo[]>;
  /** Sizes of blob records, by digest (absent digests are left out). */
  blobSizes(digests: readonly string[]): Promise<Map<string, number>>;
  /**
   * resolveTag for a pull by tag, that also records the pull time when the recorded one is
   * older than PULL_RECORD_INTERVAL_MS: at most one write per tag per day, none per blob.
   * Best effort: a failure to record never fails the pull.
   */
  resolvePulledTag(repository: string, tag: string, now: number): Promise<string | undefined>;
}
