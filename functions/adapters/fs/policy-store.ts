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

  constructor(root: string, private readonly options: { fsync?: boolean } = {}) {
    this.layout = new DataLayout(root);
  }

  async get(kind: PolicyKind): Promise<StoredPolicy<unknown> | undefined> {
    const file = await readJson<PolicyFile>(this.layout.policy(kind));
    return file && { document: file.document, etag: file.etag };
  }

  put(kind: PolicyKind, document: unknown, ifMatch?: string): Promise<string> {
    return this.mutex.run(kind, async () => {
      const current = await this.get(kind);
      if (ifMatch !== undefined && !etagMatches(current?.etag, ifMatch)) {
        throw new StoreConflictError(`the ${kind} document is at ${current?.etag ?? 'none'}, not ${ifMatch}`);
      }
      const etag = String(Number(current?.etag ?? '0') + 1);
      const file: PolicyFile = { etag, document };
      await writeFileAtomic(this.layout.tmp, this.layout.policy(kind), JSON.stringify(file, null, 2), { fsync: this.options.fsync ?? true });
      return etag;
    });
  }
}

/** `*` matches any stored document; "0" matches none stored (create only). */
export function etagMatches(current: string | undefined, ifMatch: string): boolean {
  if (ifMatch === '*') return current !== undefined;
  return (current ?? '0') === ifMatch;
}
