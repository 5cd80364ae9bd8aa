import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The file operations durable writes make; tests pass a recording wrapper around nodeFs. */
export interface DurableFs {
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** mkdir -p; resolves with the first directory it created, or undefined if all existed. */
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  rm(path: string): Promise<void>;
}

export const nodeFs: DurableFs = { open, rename, mkdir, rm: (path) => rm(path) };

export interface DurableOptions {
  /**
   * NIMBUS_FSYNC. On: a file's bytes are flushed before it is renamed into place, and the
   * directories whose entries changed (the rename, any directory created for it, a removal)
   * are flushed before the call returns, so an answered request survives a power loss.
   */
  readonly fsync: boolean;
  /**
   * Defer the directory flushes to this batch, which the caller flushes before the change
   * must be durable: one fsync per directory, however many files land in it.
   */
  readonly syncs?: DirectorySyncs;
  /**
   * Flush the file but not its directory: after a power loss the previous version may be
   * back. For upload checkpoints only, which resume from any earlier one (and are written
   * on the upload's hot path).
   */
  readonly checkpoint?: boolean;
  readonly fs?: DurableFs;
}

/** Flushes a directory's entries (names created, renamed or removed in it) to disk. */
export async function syncDirectory(dir: string, fs: DurableFs = nodeFs): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Directories to flush once each; several renames into one directory cost one fsync. */
export class DirectorySyncs {
  private readonly dirs = new Set<string>();

  constructor(private readonly fs: DurableFs = nodeFs) {}

  add(dir: string): void {
    this.dirs.add(dir);
  }

  async flush(): Promise<void> {
    const dirs = [...this.dirs];
    this.dirs.clear();
    await Promise.all(dirs.map((dir) => syncDirectory(dir, this.fs)));
  }
}

/** Flushes `dirs` now, or adds them to the caller's batch. */
async function syncDirs(dirs: Iterable<string>, options: DurableOptions): Promise<void> {
  if (!options.fsync || options.checkpoint) return;
  const batch = options.syncs ?? new DirectorySyncs(options.fs);
  for (const dir of dirs) batch.add(dir);
  if (!options.syncs) await batch.flush();
}

/** Durable file operations (metadata-store.ts): with fsync, done when flushed, or at once without a batch. */
export interface DurableFiles {
  write(path: string, data: Uint8Array | string, syncs?: DirectorySyncs): Promise<void>;
  remove(path: string, syncs?: DirectorySyncs): Promise<boolean>;
  /** A batch of directory flushes: one fsync per directory, however many files changed in it. */
  batch(): DirectorySyncs;
}

/**
 * mkdir -p that names every parent whose entries it changed: making a/b/c where only a
 * existed adds b to a, c to b. Those parents must be flushed for the new path to last.
 */
export async function makeDirectory(dir: string, fs: DurableFs = nodeFs): Promise<string[]> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined) return [];
  const changed: string[] = [];
  for (let created = dir; ; created = dirname(created)) {
    changed.push(dirname(created));
    if (created === first || dirname(created) === created) break;
  }
  return changed;
}

/**
 * Writes a file by writing a temporary sibling in tmp/ and renaming it into place, so
 * readers and crashes only ever see the old or the new content; with fsync, the content
 * and the rename are on disk when it returns (see DurableOptions).
 */
export async function writeFileAtomic(tmpDir: string, target: string, data: Uint8Array | string, options: DurableOptions): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const temp = join(tmpDir, randomUUID());
  const handle = await fs.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data);
    if (options.fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  const changed = [dirname(target)];
  try {
    await fs.rename(temp, target);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    changed.push(...(await makeDirectory(dirname(target), fs)));
    await fs.rename(temp, target);
  }
  await syncDirs(changed, options);
}

/** Renames `from` to `to` (creating `to`'s directory), durably under fsync. */
export async function renameDurably(from: string, to: string, options: DurableOptions): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const changed = await makeDirectory(dirname(to), fs);
  await fs.rename(from, to);
  await syncDirs([dirname(to), ...changed], options);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Removes a file; returns whether it existed. With fsync, the removal is on disk when it returns. */
export async function removeFile(path: string, options?: DurableOptions): Promise<boolean> {
  try {
    await (options?.fs ?? nodeFs).rm(path);
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  if (options) await syncDirs([dirname(path)], options);
  return true;
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
