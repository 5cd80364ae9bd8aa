import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheMarks } from '../../core/cache/ports';
import { exists } from './files';

/**
 * Tags the root mirror filled, as empty files under meta/cache/filled/ named by the hex of
 * `<repository>:<tag>` (no name can become another path). Remembered in memory once seen.
 */
export class FsCacheMarks implements CacheMarks {
  private readonly dir: string;
  private readonly known = new Set<string>();

  constructor(root: string) {
    this.dir = join(root, 'meta', 'cache', 'filled');
  }

  private path(tag: string): string {
    return join(this.dir, Buffer.from(tag, 'utf8').toString('hex'));
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
