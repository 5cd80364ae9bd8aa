import { StoreConflictError } from '../../core/index';
import type { PolicyKind, PolicyStore, StoredPolicy } from '../../core/policy/ports';
import { readJson, writeFileAtomic } from './atomic';
import { KeyedMutex } from './keyed-mutex';
import { DataLayout } from './paths';

interface PolicyFile {
  etag: string;
  document: unknown;
}

/**
 * Policy documents as meta/policies/<kind>.json (paths.ts), replaced atomically. The ETag is a
 * counter; compare-and-swap holds under an in-process lock (one npm start per data dir).
 */
export class FsPolicyStore implements PolicyStore {
  private readonly layout: DataLayout;
  private readonly mutex = new KeyedMutex();
  /** This store is the data dir's only writer, so what it read or wrote last is current (manifest PUTs read it). */
  private readonly cache = new Map<PolicyKind, StoredPolicy<unknown> | undefined>();
  /** Bumped by each put: a read that started before one must not cache what it read. */
  private writes = 0;

  constructor(root: string, private readonly options: { fsync?: boolean } = {}) {
    this.layout = new DataLayout(root);
  }

  async get(kind: PolicyKind): Promise<StoredPolicy<unknown> | undefined> {
    if (this.cache.has(kind)) return this.cache.get(kind);
    const writes = this.writes;
    const file = await readJson<PolicyFile>(this.layout.policy(kind));
    const stored = file && { document: file.document, etag: file.etag };
    if (writes === this.writes) this.cache.set(kind, stored);
    return stored;
  }

  put(kind: PolicyKind, document: unknown, ifMatch?: string): Promise<string> {
    return this.mutex.run(kind, async () => {
      const current = await this.get(kind);
      if (ifMatch !== undefined && !etagMatches(current?.etag, ifMatch)) {
        throw new StoreConflictError(`the ${kind} document is at ${current?.etag ?? 'none'}, not ${ifMatch}`);
      }
      const etag = String(Number(current?.etag ?? '0') + 1);
      const file: PolicyFile = { etag, document };
      this.writes++;
      this.cache.delete(kind);
      await writeFileAtomic(this.layout.tmp, this.layout.policy(kind), JSON.stringify(file, null, 2), { fsync: this.options.fsync ?? true });
      this.writes++;
      this.cache.set(kind, { document, etag });
      return etag;
    });
  }
}

/** `*` matches any stored document; "0" matches none stored (create only). */
export function etagMatches(current: string | undefined, ifMatch: string): boolean {
  if (ifMatch === '*') return current !== undefined;
  return (current ?? '0') === ifMatch;
}
