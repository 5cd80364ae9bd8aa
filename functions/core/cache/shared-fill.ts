import { RegistryError } from '../errors';
import type { Clock, MetadataStore } from '../ports';
import type { BlobRecord } from '../records';
import type { FillLeases } from './ports';

export interface SharedFillOptions {
  leases: FillLeases;
  metadata: MetadataStore;
  clock: Clock;
  /** How long the lease of a fill lasts: longer than any fill may run. */
  leaseMs: number;
  /** How long a requester waits for another process's fill before answering 503. */
  waitMs: number;
}

/**
 * Single flight across processes: the first to take the blob's lease fills it (`fill`); the
 * others wait until it is stored and linked, polling the metadata store, and take over if the
 * lease ends without it (the holder failed or crashed). Keyed per repository and digest, as the
 * in-process flight is: the fill links the blob into the repository it filled.
 */
export async function fillShared(
  options: SharedFillOptions, repository: string, digest: string, fill: () => Promise<BlobRecord>,
): Promise<BlobRecord> {
  const { leases, clock } = options;
  const key = `${repository}@${digest}`;
  const deadline = clock.now() + options.waitMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const stored = await storedIn(options.metadata, repository, digest);
    if (stored) return stored;
    if (await leases.acquire(key, options.leaseMs)) {
      try {
        // The previous holder may have finished between our look and our lease.
        return (await storedIn(options.metadata, repository, digest)) ?? (await fill());
      } finally {
        await leases.release(key).catch(() => undefined);
      }
    }
    if (clock.now() + pause > deadline) {
      throw new RegistryError('UNAVAILABLE', `blob ${digest} is being filled from upstream by another request; retry shortly`, { headers: { 'Retry-After': '5' } });
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

async function storedIn(metadata: MetadataStore, repository: string, digest: string): Promise<BlobRecord | undefined> {
  const [linked, record] = await Promise.all([metadata.isBlobLinked(repository, digest), metadata.getBlob(digest)]);
  return linked ? record : undefined;
}
