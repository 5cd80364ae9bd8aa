import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { authHarness } from './harness';
import { identityStoreContract } from './identity-store.contract';
import { unholdableLoginNamesSuite } from './usernames.suite';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

identityStoreContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-identity-'));
  dirs.push(dir);
  return new FsIdentityStore(dir, { fsync: false });
});

unholdableLoginNamesSuite('filesystem', () => authHarness());
