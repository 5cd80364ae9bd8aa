import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLeases } from './dynamo-leases';
import type { CacheMarks, CacheSecrets, FillLeases, UpstreamCredentials } from '../../core/cache/ports';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import type { SecretVault } from './secret-vault';
import { TTL_ATTRIBUTE } from './table-schema';

/**
 * Upstream credentials of cache rules in Secrets Manager (through the vault): one secret per
 * rule, `<stack prefix>/cache/<hex of the rule's key>`, so no prefix can name another secret and
 * IAM can grant `secret:<prefix>/cache/*` only. The value is JSON; it is never logged.
 */
export class VaultCacheSecrets implements CacheSecrets {
  constructor(private readonly vault: SecretVault) {}

  private name(key: string): string {
    return `cache/${Buffer.from(key, 'utf8').toString('hex')}`;
  }

  async get(key: string): Promise<UpstreamCredentials | undefined> {
    const text = await this.vault.get(this.name(key));
    if (text === undefined) return undefined;
    const stored = JSON.parse(text) as Partial<UpstreamCredentials>;
    return typeof stored.username === 'string' && typeof stored.password === 'string' ? { username: stored.username, password: stored.password } : undefined;
  }

  put(key: string, credentials: UpstreamCredentials): Promise<void> {
    return this.vault.put(this.name(key), JSON.stringify({ username: credentials.username, password: credentials.password }));
  }

  delete(key: string): Promise<void> {
    return this.vault.delete(this.name(key));
  }
}

/**
 * Tags the root mirror filled, as items CACHE#<repo> / FILLED#<tag>; remembered in memory once seen.
 * When a cached tag was last confirmed upstream: CACHE#<repo> / CHECKED#<tag> with `at`, expiring
 * (TTL) a week on, since one lost costs one HEAD and tags nobody pulls should not pile up items.
 */
export class DynamoCacheMarks implements CacheMarks {
  private readonly known = new Set<string>();

  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async isFilled(tag: string): Promise<boolean> {
    if (this.known.has(tag)) return true;
    const result = await guarded('DynamoDB GetItem (cache mark)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: markKey(tag), ConsistentRead: true,
    })));
    if (result.Item) this.known.add(tag);
    return result.Item !== undefined;
  }

  async markFilled(tag: string): Promise<void> {
    if (this.known.has(tag)) return;
    await guarded('DynamoDB PutItem (cache mark)', () => this.doc.send(new PutCommand({ TableName: this.table, Item: markKey(tag) })));
    this.known.add(tag);
  }

  async checkedAt(tag: string): Promise<number | undefined> {
    const result = await guarded('DynamoDB GetItem (cache check time)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: tagKey(tag, itemKeys.cacheCheckedTag),
    })));
    const at: unknown = result.Item?.['at'];
    return typeof at === 'number' ? at : undefined;
  }

  async markChecked(tag: string, at: number): Promise<void> {
    await guarded('DynamoDB PutItem (cache check time)', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...tagKey(tag, itemKeys.cacheCheckedTag), at, [TTL_ATTRIBUTE]: Math.ceil(at / 1000) + CHECKED_TTL_SECONDS },
    })));
  }
}

const CHECKED_TTL_SECONDS = 7 * 24 * 3600;

/** `<repository>:<tag>` (CacheMarks' key) as the item's key; the tag is the last `:` part. */
function tagKey(tag: string, keyOf: (repository: string, tag: string) => Record<string, string>): Record<string, string> {
  const at = tag.lastIndexOf(':');
  return keyOf(tag.slice(0, at), tag.slice(at + 1));
}

function markKey(tag: string): Record<string, string> {
  return tagKey(tag, itemKeys.cacheFilledTag);
}

/** Fill leases as items CACHEFILL#<key> / LEASE (dynamo-leases.ts). */
export class DynamoFillLeases extends DynamoLeases implements FillLeases {
  constructor(doc: DynamoDBDocumentClient, table: string, now: () => number = Date.now) {
    super(doc, table, itemKeys.cacheFillLease, 'cache fill lease', now);
  }
}
