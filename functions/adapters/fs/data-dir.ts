import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateKey } from './key-file';

/** Loads the HMAC key for upload capabilities, creating it (mode 0600, atomically) on first start. */
export async function loadOrCreateSecret(dataDir: string, name: string): Promise<Uint8Array> {
  const dir = join(dataDir, 'meta', 'secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return loadOrCreateKey(join(dir, name));
}

/**
 * One server per data dir: the metadata store keeps sorted indexes in memory. A second
 * server on the same dir would serve stale listings, so refuse it with a clear message.
 * The lock is .lock, created whole or not at all (written aside, then linked into place),
 * holding the pid, the boot id and a nonce. A lock whose process is gone, as after a crash,
 * or that an earlier boot wrote (its pid may belong to anything now), is stale: it is taken
 * over (takeOver), by one server only when several start at once.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, '.lock');
  const mine = `${process.pid} ${await bootId()} ${randomUUID()}`;
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (await createWhole(path, mine)) return () => rm(path, { force: true });
    const held = await readFile(path, 'utf8').catch(() => undefined);
    if (held === undefined) continue; // released meanwhile
    const pid = await liveHolder(held);
    if (pid !== undefined) {
      throw new Error(`${dataDir} is in use by another Nimbus server (pid ${pid}). Stop it, or set NIMBUS_DATA_DIR to another directory.`);
    }
    await takeOver(path, held);
    // Another server starting now may be taking it over: let it finish, then look again.
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
  throw new Error(`could not lock ${dataDir}: its .lock keeps changing hands. Start one Nimbus server per data dir.`);
}

const LOCK_ATTEMPTS = 50;
const LOCK_RETRY_MS = 20;

/** The pid of a live process of this boot that holds `lock`'s content, if any. */
async function liveHolder(lock: string): Promise<number | undefined> {
  const [pidText = '', boot] = lock.trim().split(' ');
  const pid = Number(pidText);
  const thisBoot = boot === undefined || boot === (await bootId()); // a lock without one is from an older Nimbus
  return pid && pid !== process.pid && thisBoot && isAlive(pid) ? pid : undefined;
}

/**
 * Removes the stale lock whose content is `stale`. Of servers that all found it stale, only
 * the one that creates its takeover marker (named after that content) removes it, and only
 * while .lock still holds that content, never a lock another server has created since. A
 * marker whose taker died is itself stale and removed.
 */
async function takeOver(path: string, stale: string): Promise<void> {
  const marker = `${path}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  if (!(await createWhole(marker, `${process.pid} ${await bootId()}`))) {
    const taker = await readFile(marker, 'utf8').catch(() => undefined);
    if (taker !== undefined && (await liveHolder(taker)) === undefined) await rm(marker, { force: true });
    return;
  }
  try {
    if ((await readFile(path, 'utf8').catch(() => undefined)) === stale) await rm(path, { force: true });
  } finally {
    await rm(marker, { force: true });
  }
}

/** Creates `path` holding `content`, atomically: false if it exists. Nobody ever sees it empty. */
async function createWhole(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${randomUUID()}`;
  await writeFile(temp, content, { mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes what a crash left in tmp/ (files written aside before their rename). Only entries
 * older than `olderThanMs`: a CLI (npx nimbus user add) may be writing there right now.
 */
export async function removeTmpLeftovers(dataDir: string, olderThanMs = 60 * 60 * 1000, now = Date.now()): Promise<number> {
  const dir = join(dataDir, 'tmp');
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info || now - info.mtimeMs < olderThanMs) continue;
    await rm(join(dir, name), { force: true, recursive: true });
    removed++;
  }
  return removed;
}

/** Linux's id of this boot ('' elsewhere, where only the pid tells). */
async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
