import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KeySet } from './keyset';

/**
 * The local token keys, in <data>/meta/secrets/ with mode 0600: `token-signing.key` signs,
 * `token-signing.previous.key` (after `nimbus keys rotate`) still verifies.
 */
const CURRENT = 'token-signing.key';
const PREVIOUS = 'token-signing.previous.key';

function secretsDir(dataDir: string): string {
  return join(dataDir, 'meta', 'secrets');
}

/** Loads the key set, creating the signing key on first start. */
export async function loadOrCreateKeySet(dataDir: string): Promise<KeySet> {
  const dir = secretsDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const current = (await readOptional(join(dir, CURRENT))) ?? (await createExclusive(join(dir, CURRENT)));
  const previous = await readOptional(join(dir, PREVIOUS));
  return KeySet.fromSeeds(previous ? [current, previous] : [current]);
}

/** Makes a new signing key; the current one moves to previous and keeps verifying. */
export async function rotateKeyFile(dataDir: string): Promise<KeySet> {
  const dir = secretsDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const current = join(dir, CURRENT);
  if (await readOptional(current)) await rename(current, join(dir, PREVIOUS));
  await rm(current, { force: true });
  await createExclusive(current);
  return loadOrCreateKeySet(dataDir);
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function createExclusive(path: string): Promise<Uint8Array> {
  const secret = randomBytes(32);
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(secret);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return new Uint8Array(secret);
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return new Uint8Array(await readFile(path));
    throw error;
  }
}
