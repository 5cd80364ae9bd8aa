import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { nodeHashing } from '../../functions/adapters/node/hashing';
import { createRegistry } from '../../functions/core/index';
import { defineRegistryApiSuite } from './suite';

defineRegistryApiSuite({
  name: 'filesystem stores, node hashing',
  async create() {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-api-'));
    // Small parts, so multi-part uploads, checkpoints and resumption are exercised.
    const blobs = new FsBlobStore(dir, { fsync: false, partSize: 64 * 1024 });
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await Promise.all([blobs.init(), metadata.init()]);
    let skew = 0;
    const registry = createRegistry({
      blobs, metadata, hashing: nodeHashing(), clock: { now: () => Date.now() + skew },
      config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 0 },
    });
    return {
      fetch: registry.fetch,
      advanceClock: (ms) => (skew += ms),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});
