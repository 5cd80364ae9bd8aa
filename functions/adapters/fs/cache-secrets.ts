import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheSecrets, UpstreamCredentials } from '../../core/cache/ports';
import { readJson, removeFile, writeFileAtomic } from './atomic';
import { DataLayout } from './paths';

/**
 * Upstream credentials of cache rules, beside the registry's other secrets: one file per rule
 * under meta/secrets/cache/ (directory 0700, files 0600, replaced atomically), named by the hex
 * of the rule's prefix so no prefix can name another path.
 */
export class FsCacheSecrets implements CacheSecrets {
  private readonly layout: DataLayout;
  private readonly dir: string;

  constructor(root: string, private readonly options: { fsync?: boolean } = {}) {
    this.layout = new DataLayout(root);
    this.dir = join(root, 'meta', 'secrets', 'cache');
  }

  private path(key: string): string {
    return join(this.dir, `${Buffer.from(key, 'utf8').toString('hex')}.json`);
  }

  async get(key: string): Promise<UpstreamCredentials | undefined> {
    const stored = await readJson<UpstreamCredentials>(this.path(key));
    return stored && typeof stored.username === 'string' && typeof stored.password === 'string' ? stored : undefined;
  }

  async put(key: string, credentials: UpstreamCredentials): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.layout.tmp, { recursive: true });
    const body = JSON.stringify({ username: credentials.username, password: credentials.password });
    await writeFileAtomic(this.layout.tmp, this.path(key), body, { fsync: this.options.fsync ?? true });
  }

  async delete(key: string): Promise<void> {
    await removeFile(this.path(key));
  }
}
