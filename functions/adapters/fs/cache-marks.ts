import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheMarks } from '../../core/cache/ports';
import { exists } from './files';

/**
 * Tags the root mirror filled, as empty files under meta/cache/filled/ named by the hex of
 * `<repository>:<tag>` (no name can become another path). Remembered in memory once seen.
 * When each cached tag was last confirmed upstream: a file of the same name under
 * meta/cache/checked/ holding the epoch ms, replaced by rename (never read half written) and
 * not fsynced: a check time lost to a crash costs one HEAD.
 */
export class FsCacheMarks implements CacheMarks {
  private readonly dir: string;
  private readonly checkedDir: string;
  private readonly known = new Set<string>();

  constructor(root: string) {
    this.dir = join(root, 'meta', 'cache', 'filled');
    this.checkedDir = join(root, 'meta', 'cache', 'checked');
  }

  async checkedAt(tag: string): Promise<number | undefined> {
    const text = await readFile(join(this.checkedDir, hexOf(tag)), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const at = text === undefined ? NaN : Number(text);
    return Number.isSafeInteger(at) ? at : undefined;
  }

  async markChecked(tag: string, at: number): Promise<void> {
    await mkdir(this.checkedDir, { recursive: true });
    const path = join(this.checkedDir, hexOf(tag));
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, String(at));
    await rename(temporary, path);
  }

  private path(tag: string): string {
    return join(this.dir, hexOf(tag));
  }

  async isFilled(tag: string): Promise<boolean> {
    if (this.known.has(tag)) return true;
    const marked = await exists(this.path(tag));
    if (marked) this.known.add(tag);
    return marked;
  }

  async markFilled(tag: string): Promise<void> {
    if (this.known.has(tag)) return;
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.path(tag), '');
    this.known.add(tag);
  }
}

function hexOf(tag: string): string {
  return Buffer.from(tag, 'utf8').toString('hex');
}
