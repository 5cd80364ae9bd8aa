import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import { describeGcContract, manualClock } from './gc.contract';

describeGcContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-gc-'));
  const clock = manualClock();
  const blobs = new FsBlobStore(dir, { fsync: false });
  const metadata = new FsMetadataStore(dir, { fsync: false, clock });
  await Promise.all([blobs.init(), metadata.init()]);
  const locks = new KeyedMutex();
  const layout = new DataLayout(dir);
  return {
    gc: new FsGcStore(dir, { metadata, locks, fsync: false }),
    metadata,
    blobs,
    clock,
    blobLocks: locks,
    bytesExist: async (digest) => (await stat(layout.blob(digest)).catch(() => undefined)) !== undefined,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
