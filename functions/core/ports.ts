/**
 * The ports the protocol core runs on. Adapters (filesystem, S3, DynamoDB, ...) implement
 * them; test/contract/ holds the one suite every implementation must pass.
 */
import type {
  BlobRecord, ManifestRecord, Page, PageRequest, PartRecord, UploadSession, Descriptor,
} from './records';

/** A stream of bytes, as web streams and Node streams both provide. */
export type ByteSource = AsyncIterable<Uint8Array>;

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface UploadRef {
  /** The session id, unique per upload. */
  id: string;
  /** What createUpload returned. */
  handle: string;
}

/**
 * How the store wants upload bytes cut into parts. S3 needs every part but the last
 * to be at least 5 MiB and knows each part's length up front; files take any stream.
 */
export interface PartPolicy {
  /** Smallest part except the last. 0 means parts may be any size, and are streamed. */
  minPartSize: number;
  /** Size at which the core cuts a buffered part (ignored when minPartSize is 0). */
  partSize: number;
  /** Most parts an upload may have. */
  maxParts: number;
}

export interface BlobReadResult {
  body: ReadableStream<Uint8Array>;
  /** Bytes in `body`. */
  length: number;
}

/**
 * Optional store capability: clients upload parts straight to storage (S3 presigned
 * UploadPart URLs), so blob bytes bypass the registry's compute entirely.
 */
export interface DirectPartUploads {
  /** Smallest part but the last, and most parts, that storage accepts. */
  readonly minPartSize: number;
  readonly maxParts: number;
  /** Part size to plan with when the blob allows it. */
  readonly preferredPartSize: number;
  /** Opens an upload whose parts the client sends itself (no per-part checksums to sign). */
  createUpload(id: string): Promise<string>;
  /** A URL the client PUTs part `partNumber` to, valid for `expiresInSeconds`. */
  presignPart(upload: UploadRef, partNumber: number, expiresInSeconds: number): Promise<string>;
}

export interface BlobStore {
  readonly partPolicy: PartPolicy;
  /** Present when the store can take parts from clients directly. */
  readonly direct?: DirectPartUploads;

  /** Opens storage for a new upload and returns the handle to keep in the session. */
  createUpload(id: string): Promise<string>;
  /**
   * Writes one part. `offset` is the part's first byte within the blob. With a
   * streaming policy `body` is a stream of unknown length, else a buffered part.
   * Writing a part number again replaces it (a retry after a crash). A buffered `body`
   * must not be kept once the returned promise settles: the core reuses the array.
   */
  writePart(upload: UploadRef, part: { number: number; offset: number }, body: ByteSource | Uint8Array): Promise<PartRecord>;
  /**
   * Keeps bytes too short to be a part yet; `name` is unique per write. The store may keep
   * `bytes` itself (the core never changes bytes it staged) and hand them back from getStaged,
   * whose result the core only reads.
   */
  putStaged(upload: UploadRef, name: string, bytes: Uint8Array): Promise<void>;
  getStaged(upload: UploadRef, name: string): Promise<Uint8Array>;
  deleteStaged(upload: UploadRef, name: string): Promise<void>;
  /**
   * Assembles the parts into the finished blob without copying it, and returns its
   * location. Only called after the core verified the digest. Safe to repeat once it
   * succeeded (a retry after a crash or a lost answer): returns the same location.
   */
  completeUpload(upload: UploadRef, parts: PartRecord[], size: number, digest: string): Promise<string>;
  /** Drops everything the upload wrote. Safe to repeat. */
  abortUpload(upload: UploadRef): Promise<void>;
  /**
   * Reads back bytes written to an unfinished upload, or returns undefined when the
   * store cannot (S3 multipart parts are not readable). Used to rebuild lost hash state.
   */
  readUpload(upload: UploadRef, parts: PartRecord[], size: number): Promise<ByteSource | undefined>;

  /** Streams a finished blob, whole or a byte range. */
  read(location: string, range?: ByteRange): Promise<BlobReadResult>;
  /**
   * A short-lived URL the client can fetch the blob from directly, or undefined when the
   * store serves bytes itself. GET and HEAD are signed separately.
   */
  presign(location: string, options: { method: 'GET' | 'HEAD'; expiresInSeconds: number; digest: string }): Promise<string | undefined>;
  /** Removes a finished blob. Safe to repeat. */
  delete(location: string): Promise<void>;
}

/**
 * What a manifest refers to, each digest once. Stores record these with the manifest, so
 * they can refuse deletes that would break it.
 */
export interface ManifestReferences {
  /** Blobs (config, layers; not foreign layers) that must be readable in the repository. */
  readonly blobs: readonly string[];
  /** Manifests an index lists, which must be stored in the same repository. */
  readonly manifests: readonly string[];
}

/** What `findReferences` found: the referenced things that exist, by digest. */
export interface FoundReferences {
  /** Records of the referenced blobs that the repository links. */
  blobs: Map<string, BlobRecord>;
  /** Size and media type of the referenced manifests stored in the repository. */
  manifests: Map<string, { size: number; mediaType: string }>;
}

/**
 * Registry metadata. Every implementation keeps these invariants, under any concurrency (many
 * processes for shared stores) and across crashes (a crash may leak references, never leave
 * one dangling):
 *
 * - (I1) A listed tag resolves: if listTags shows a tag, getManifest of the digest it
 *   resolves to returns the manifest.
 * - (I2) A served manifest's references are readable: for a manifest getManifest returns,
 *   every blob in the references it was stored with is linked in its repository (with a
 *   blob record), and every manifest an index lists is stored in the repository.
 *
 * So putManifest verifies and records references atomically with the manifest (no
 * check-then-act), and unlinkBlob/deleteManifest refuse while a stored manifest references
 * their target. Blob records are only deleted (deleteBlob) once no repository links them.
 * (Manifests stored by versions that did not record references hold nothing.)
 * The contract suite (test/contract/metadata-store.contract.ts) races every pair of writers.
 */
export interface MetadataStore {
  // Blobs: global and content-addressed.
  getBlob(digest: string): Promise<BlobRecord | undefined>;
  /** Create-if-absent. When another writer got there first, returns theirs with created=false. */
  putBlob(record: BlobRecord): Promise<{ record: BlobRecord; created: boolean }>;
  /** Removes a blob record; only for blobs no repository links (garbage collection). */
  deleteBlob(digest: string): Promise<void>;

  // Per-repository blob links: what a repository may serve and mount.
  /** Idempotent; linking again never forgets which manifests use the blob. */
  linkBlob(repository: string, digest: string): Promise<void>;
  isBlobLinked(repository: string, digest: string): Promise<boolean>;
  /**
   * Returns false when there was no link. Throws StoreInUseError, naming a manifest, while a
   * manifest stored in the repository references the blob (I2).
   */
  unlinkBlob(repository: string, digest: string): Promise<boolean>;
  /** Repositories linking a blob (at most `limit`), for mounts without `from`. */
  blobRepositories(digest: string, limit: number): Promise<string[]>;

  // Manifests and tags.
  /**
   * Looks up, in bulk, what a manifest about to be pushed references: reads only, so the
   * core can report sizes and missing digests before anything is written.
   */
  findReferences(repository: string, references: ManifestReferences): Promise<FoundReferences>;
  /**
   * Stores the manifest, its references, its referrer entry and the optional tag, all or
   * nothing. A new manifest becomes visible only once every reference is verified to exist
   * and recorded, atomically with respect to unlinkBlob and deleteManifest; otherwise throws
   * StoreReferenceMissingError naming one missing digest and stores nothing visible.
   * Storing a manifest again (same digest) only (re)tags it: its references are already held.
   */
  putManifest(repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string, options?: PutManifestOptions): Promise<void>;
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  /**
   * Removes the manifest, every tag pointing to it, its referrer entry and its recorded
   * references. Throws StoreInUseError, naming an index, while an index stored in the
   * repository lists it (I2). A tag added concurrently is removed too, never left dangling (I1).
   */
  deleteManifest(repository: string, digest: string, options?: DeleteManifestOptions): Promise<boolean>;
  resolveTag(repository: string, tag: string): Promise<string | undefined>;
  /** With `expected`, removes the tag only while it points at that digest (else returns false). */
  deleteTag(repository: string, tag: string, expected?: string): Promise<boolean>;
  listTags(repository: string, page: PageRequest): Promise<Page<string>>;
  listReferrers(repository: string, subject: string): Promise<Descriptor[]>;

  // Repositories.
  repositoryExists(repository: string): Promise<boolean>;
  listRepositories(page: PageRequest): Promise<Page<string>>;

  // Upload sessions, updated by compare-and-swap on `version`.
  createUpload(session: UploadSession): Promise<void>;
  getUpload(id: string): Promise<UploadSession | undefined>;
  /** Replaces the session if its stored version equals `expectedVersion`, else throws StoreConflictError. */
  updateUpload(session: UploadSession, expectedVersion: number): Promise<void>;
  deleteUpload(id: string): Promise<void>;
}

/** Tag immutability (core/policy/immutability.ts), enforced atomically by the store. */
export interface PutManifestOptions {
  /**
   * Never move an existing tag: when `tag` already points at another digest, throw
   * StoreTagConflictError and store nothing visible. Decided atomically with the tag write, so
   * of two pushes of different digests to a new tag exactly one wins.
   */
  readonly keepTag?: boolean;
  /**
   * Record the references without requiring them to exist yet: a pull-through cache stores an
   * upstream's manifest before the blobs and child manifests it lists, which are filled when a
   * client asks for them (core/cache/). The references are held like any others (garbage
   * collection keeps what the manifest uses), so only a cached repository's manifests relax I2.
   */
  readonly deferReferences?: boolean;
}

/** Retention (core/policy/retention.ts) deletes only what is still untagged. */
export interface DeleteManifestOptions {
  /** Refuse (StoreTagConflictError) when a tag points at the manifest, even one added concurrently. */
  readonly untaggedOnly?: boolean;
  /**
   * Refuse (StoreTagConflictError) when a tag this accepts points at the manifest (immutable tags),
   * decided atomically with the delete: a tag added concurrently is seen.
   */
  readonly refuseTag?: (tag: string) => boolean;
}

/** Work the registry hands to a background worker (a separate Lambda, or in-process). */
export interface RegistryTask {
  type: 'verify-direct-upload';
  upload: string;
}

export interface TaskQueue {
  enqueue(task: RegistryTask): Promise<void>;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Repeating timers, for work that runs while a request waits (upload lease heartbeats). */
/**
 * Leases across processes (on AWS, Lambda containers): a key held by one holder at a time.
 * A lease ends when released, or by itself after `ttlMs`, so a crashed holder does not block
 * its key for ever.
 */
export interface Leases {
  /** Takes the lease on `key`; false while another holder's lease lives. */
  acquire(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

export interface Timers {
  /** Calls `tick` every `ms` until the returned handle is cancelled. Never keeps a process alive. */
  every(ms: number, tick: () => void): { cancel(): void };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** Incremental hashing whose state can be saved between requests. */
export interface ResumableHasher {
  update(bytes: Uint8Array): void;
  /** Serialises the state so far; the hasher stays usable. A later save supersedes earlier ones. */
  save(): string;
  /** Hex digest of everything so far; the hasher must not be used afterwards. */
  digest(): string;
}

export interface Hashing {
  /**
   * Starts (no state) or resumes a hasher. Returns undefined when the state cannot be
   * resumed here (a fast in-memory state lost to a restart).
   */
  resume(algorithm: 'sha256' | 'sha512', state?: string): Promise<ResumableHasher | undefined>;
  /** Hashes a whole body that arrives in one request, as fast as the runtime can. */
  oneShot(algorithm: 'sha256' | 'sha512'): Promise<ResumableHasher>;
}
