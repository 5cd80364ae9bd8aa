import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { blobStoreContract } from './blob-store.contract';
import { metadataStoreContract } from './metadata-store.contract';
import { metadataDeferredContract } from './metadata-deferred.contract';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'nimbus-contract-'));
}

blobStoreContract('filesystem', async () => {
  const dir = await tempDir();
  // A small part size so multi-part behaviour is exercised without big files.
  const store = new FsBlobStore(dir, { fsync: false, partSize: 64 * 1024 });
  await store.init();
  return { store, capabilities: { readsUploads: true, presigns: false }, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

metadataStoreContract('filesystem', async () => {
  const dir = await tempDir();
  const store = new FsMetadataStore(dir, { fsync: false });
  await store.init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

metadataDeferredContract('filesystem', async () => {
  const dir = await tempDir();
  const store = new FsMetadataStore(dir, { fsync: false });
  await store.init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
