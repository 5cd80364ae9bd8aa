import { StoreReferenceMissingError } from './errors';
import type { BlobLocks } from './gc/ports';
import type { MetadataStore } from './ports';
import type { BlobRecord } from './records';

/** Runs `section` under the digest's lock when the registry has blob locks, else directly. */
export function underBlobLock<T>(locks: BlobLocks | undefined, digest: string, section: () => Promise<T>): Promise<T> {
  return locks ? locks.run(digest, section) : section();
}

/**
 * Links a blob already stored (for another repository) into `repository`: under the digest's
 * lock, so garbage collection cannot delete it between the look and the link, and undefined
 * when it is not stored, or the store refuses the link because collection deleted it since
 * (then the caller uploads or fetches the bytes).
 */
export function linkStoredBlob(locks: BlobLocks | undefined, metadata: MetadataStore, repository: string, digest: string): Promise<BlobRecord | undefined> {
  return underBlobLock(locks, digest, async () => {
    const record = await metadata.getBlob(digest);
    if (!record) return undefined;
    try {
      await metadata.linkBlob(repository, digest);
    } catch (error) {
      if (error instanceof StoreReferenceMissingError) return undefined;
      throw error;
    }
    return record;
  });
}
