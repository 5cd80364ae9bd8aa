import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
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
 * The lock is the exclusive creation of .lock, which holds the pid and the boot id (not
 * written through tmp/ nor flushed): a lock whose process is gone, as after a crash, or
 * that an earlier boot wrote (its pid may belong to anything now), is stale and taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid} ${await bootId()}`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidText = '', boot] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
      const pid = Number(pidText);
      const thisBoot = boot === undefined || boot === (await bootId()); // a lock without one is from an older Nimbus
      if (pid && pid !== process.pid && thisBoot && isAlive(pid)) {
        throw new Error(`${dataDir} is in use by another Nimbus server (pid ${pid}). Stop it, or set NIMBUS_DATA_DIR to another directory.`);
      }
      await writeFile(path, '').catch(() => undefined);
      await rm(path, { force: true }); // stale lock from a crashed server
    }
  }
  throw new Error(`could not lock ${dataDir}`);
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
