import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeySet } from '../../auth/keyset';

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
  const current = await loadOrCreateKey(join(dir, CURRENT));
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

/** The key at `path`, creating 32 random bytes there (mode 0600) when there is none. */
export async function loadOrCreateKey(path: string): Promise<Uint8Array> {
  return (await readOptional(path)) ?? createExclusive(path);
}

/** A key file's bytes; an empty one (a crash inside an older, non-atomic write) counts as none. */
async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = new Uint8Array(await readFile(path));
    if (bytes.byteLength > 0) return bytes;
    await rm(path, { force: true });
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes a new key to a temporary sibling (mode 0600), flushes it, links it into place and
 * flushes the directory: the key file is whole or absent after any crash or power loss, and
 * of two processes creating it at once, the second (EEXIST) uses the first one's key.
 */
async function createExclusive(path: string): Promise<Uint8Array> {
  const secret = new Uint8Array(randomBytes(32));
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(secret);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, path);
    await syncDirectory(dirname(path));
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return new Uint8Array(await readFile(path));
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
