import type { BlobLocks } from './gc/ports';

/** Runs `section` under the digest's lock when the registry has blob locks, else directly. */
export function underBlobLock<T>(locks: BlobLocks | undefined, digest: string, section: () => Promise<T>): Promise<T> {
  return locks ? locks.run(digest, section) : section();
}
