import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { policyContract } from './policy.contract';

policyContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-policy-'));
  const store = new FsMetadataStore(dir, { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  await Promise.all([store.init(), blobs.init()]);
  return { store, blobs, policies: new FsPolicyStore(dir, { fsync: false }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
