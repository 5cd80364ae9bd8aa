/** Plain records that cross the store ports. Stores persist them; they never interpret them. */

/** A content descriptor as it appears in manifests and the referrers index. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
  urls?: string[];
}

/** A blob the registry has verified and stored, shared by every repository that links it. */
export interface BlobRecord {
  digest: string;
  size: number;
  /** The blob store's name for the bytes (a file path, an S3 key). Opaque to the core. */
  location: string;
  createdAt: number;
}

export interface ManifestRecord {
  digest: string;
  mediaType: string;
  size: number;
  /** The exact bytes the client pushed: the digest is computed over them. */
  body: Uint8Array;
  /** Digest of the manifest this one refers to (OCI `subject`), for the referrers index. */
  subject?: string;
  /** The referrers-index descriptor of this manifest (artifactType, annotations). */
  artifactType?: string;
  annotations?: Record<string, string>;
  createdAt: number;
}

/** One finished part of an upload, in the blob store's numbering. */
export interface PartRecord {
  number: number;
  size: number;
  /** What the store needs to assemble the part later (S3's ETag). Empty when it needs nothing. */
  etag: string;
}

/** Bytes accepted by the registry but held back because they are too few to be a part yet. */
export interface StagedTail {
  name: string;
  size: number;
}

export interface UploadLease {
  owner: string;
  /** Epoch ms after which another request may take the upload over. */
  until: number;
}

/**
 * A direct upload: the client sends parts straight to storage through presigned URLs and
 * the registry verifies the whole blob before it becomes visible (a Nimbus extension).
 */
export interface DirectUpload {
  /** The digest and size the client promised. */
  digest: string;
  size: number;
  partSize: number;
  state: 'uploading' | 'verifying' | 'verified' | 'failed';
  /** Where the assembled, not yet verified, bytes are. */
  location?: string;
  /**
   * While verifying: how often verification was handed to the worker, and when a status
   * request should hand it over again (the worker's event was lost, or it failed).
   */
  verification?: { attempts: number; dueAt: number };
  /** Why the upload failed, in the registry's own words (never a storage message). */
  error?: { code: string; message: string };
}

export interface UploadSession {
  id: string;
  repository: string;
  /** The blob store's handle for this upload (an S3 UploadId and key; nothing for files). */
  handle: string;
  /** Bytes accepted so far, including any staged tail. */
  offset: number;
  parts: PartRecord[];
  tail?: StagedTail;
  /** Resumable hash state, opaque to everything but the hashing port. */
  hashState: string;
  hashAlgorithm: 'sha256' | 'sha512';
  /** Incremented on every write; updates are compare-and-swap on it. */
  version: number;
  lease?: UploadLease;
  /**
   * Lowest part number a writer may use next (upload/lease.ts): raised past the part a
   * holder that lost its lease may still be writing, so its late write lands on a number
   * nobody records. Absent: the number after the last recorded part.
   */
  partFloor?: number;
  /**
   * Set once the digest is verified and the commit begins: the parts and size are final from
   * then on, and any request may only finish this commit (a PUT with the same digest).
   */
  commit?: { digest: string };
  createdAt: number;
  updatedAt: number;
  /** Epoch seconds after which the store may forget the session (DynamoDB TTL). */
  expiresAt: number;
  /** Set for direct uploads only. */
  direct?: DirectUpload;
}

export interface Page<T> {
  items: T[];
  /** True when more items follow the last one returned. */
  more: boolean;
}

export interface PageRequest {
  /** Maximum number of items. */
  limit: number;
  /** Return items strictly after this one (lexical order). */
  after?: string;
}
