import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BlobRecord, FoundReferences, ManifestReferences, ReferenceKind } from '../../core/index';
import { chunked, forEachLimited, StoreConflictError, StoreThrottledError } from '../../core/index';
import { guarded } from './aws-errors';
import { batchGet, itemId } from './batch-get';
import { itemKeys } from './data-layout';
import { queryAll, retryOnConflict } from './dynamo-helpers';
import { PARTITION_KEY, SORT_KEY } from './table-schema';
import { blobReviews, LINKED_AT, queueReviews, RELEASED_AT } from './gc-reviews';
import { MAX_TRANSACTION_ACTIONS, transactConditions, type TransactItem } from './transactions';

export interface ReferenceTarget {
  kind: ReferenceKind;
  digest: string;
}

/** The counter of references on a link item (blobs) or manifest item (index children). */
export const REFS = 'refs';

/** Transactions in flight at once for one manifest. */
const TRANSACTION_CONCURRENCY = 8;
/** Bytes of digests per reference-list item, well under DynamoDB's 400 KB per item. */
const LIST_ITEM_BUDGET = 300_000;
/** Reference items read when looking for a holder to name. */
const HOLDER_CANDIDATES = 10;

/** Each target once: a transaction may not touch one item twice. */
export function targetsOf(references: ManifestReferences): ReferenceTarget[] {
  return [
    ...[...new Set(references.blobs)].map((digest) => ({ kind: 'blob' as const, digest })),
    ...[...new Set(references.manifests)].map((digest) => ({ kind: 'manifest' as const, digest })),
  ];
}

/**
 * The references between manifests and what they use (items: data-layout.ts; the reasoning below).
 * For each target a manifest references, one reference item names the holder and the
 * generation (one attempt to store it), and the target's `refs` counter counts those items:
 * both change in the same transaction, so the counter equals the number of reference items,
 * and a link or manifest is deleted only while its counter is 0. A holder's generation also
 * lists its targets (reference-list items), so it can be released without parsing anything.
 *
 * References: how the store keeps its invariants (ports.ts) across Lambda instances and crashes
 *   I1 (a listed tag resolves): a tag and its back-reference change in one transaction with a bump
 *   of the manifest's tagRev, conditioned on the manifest existing; a delete removes the tags it
 *   finds, then the manifest only if tagRev is unchanged, so a tag added meanwhile is found on retry.
 *   I2 (a served manifest's references are readable): each reference a manifest needs is one small
 *   item plus +1 on a counter on what it references (the link item of a blob, the manifest item of an
 *   index child), in one transaction, conditioned on that link or manifest existing. Unlinking a blob
 *   and deleting a manifest are conditioned on their counter being 0, so the two orders serialise in
 *   DynamoDB itself, with no check-then-act. Why this shape:
 *   - a counter makes the refusal one conditional write (DynamoDB cannot condition on "no item with
 *     this prefix"); the reference items name a holder in a 405 with one Query, and let garbage
 *     collection (issue 12) see who uses what. They live in the target's partition (BLOB#…), so
 *     recording 10,000 references spreads over 10,000 partitions, not one.
 *   - a manifest is written only if absent, and only in or after the transaction(s) that count its
 *     references: it is never visible before everything it needs is counted. Storing it again only
 *     tags it, so re-pushes never count twice.
 *   - every attempt to store a manifest is a generation (random id): its reference items, reference
 *     list and large body carry it. Two concurrent first pushes of one manifest each count their own
 *     generation; the one whose manifest write loses releases its own (nobody else relies on them),
 *     and a delete releases exactly the generation it deleted, never a concurrent re-push's.
 *   - up to 45 references go into the manifest's own transaction (≤ 100 actions). More are counted
 *     first, 50 per transaction; a missing target releases what was counted. A crash between those
 *     transactions leaves a generation counted that never became visible, or (deleting) one no
 *     longer visible: a leak that keeps a blob from being unlinked, never a dangling manifest.
 *     Garbage collection releases a reference item whose generation is not the stored manifest's
 *     and whose `at` is older than any request can run (15 min): gc-collector.ts releaseLeaks.
 *   - linkBlob updates the link with ADD refs 0: linking again keeps the count (G1 in gc-collector.ts for the rest).
 *   Manifests stored before references were recorded have no generation and hold nothing.
 *   Cached manifests (deferReferences, core/cache/) relax I2 only for what is filled later: each
 *   blob they list is counted on its link item, created if absent (no condition), so a blob filled
 *   later is held from the moment it is stored; a link without a record is a blob not filled yet,
 *   which reads as BLOB_UNKNOWN (and the cache fills it). Links never block collection of a record
 *   made after them, so a fill racing a collector at worst finds the record gone and fills again.
 *   Child manifests are counted only when already stored (their item holds the counter and cannot
 *   be created empty): a child filled later is not held by its index. Releasing a deferred blob
 *   reference leaves its link (refs 0) behind, with no record for garbage collection to visit.
 */
export class ReferenceRecords {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** Targets per transaction when recording or releasing in chunks: two actions each. */
    private readonly perTransaction = MAX_TRANSACTION_ACTIONS / 2,
    /** Epoch ms of reference, release and review times (garbage collection's safety window). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds the reference item and counts it on the target, which must exist; or, for a blob with
   * `deferred` (a cached manifest's, filled later), on the blob's link, created if absent: a link
   * without a record is a blob not stored yet, which the cache fills on its first GET.
   */
  recordActions(repository: string, holder: string, generation: string, target: ReferenceTarget, deferred = false): TransactItem[] {
    const reference: TransactItem = { Put: { TableName: this.table, Item: { ...this.referenceKey(repository, holder, generation, target), holder, generation, at: this.now() } } };
    if (deferred && target.kind === 'blob') {
      return [reference, {
        Update: {
          TableName: this.table, Key: this.counterKey(repository, target), UpdateExpression: 'SET #at = if_not_exists(#at, :now) ADD #refs :one',
          ExpressionAttributeNames: { '#refs': REFS, '#at': LINKED_AT }, ExpressionAttributeValues: { ':one': 1, ':now': this.now() },
        },
      }];
    }
    return [
      reference,
      {
        Update: {
          TableName: this.table, Key: this.counterKey(repository, target),
          UpdateExpression: 'ADD #refs :one', ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#refs': REFS, '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':one': 1 },
        },
      },
    ];
  }

  /** Removes the reference item, if it is still there, and uncounts it. */
  releaseActions(repository: string, holder: string, generation: string, target: ReferenceTarget): TransactItem[] {
    return [
      {
        Delete: {
          TableName: this.table, Key: this.referenceKey(repository, holder, generation, target),
          ConditionExpression: 'attribute_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        },
      },
      {
        // A blob link also notes when it was last released: garbage collection's safety window.
        Update: target.kind === 'blob'
          ? {
            TableName: this.table, Key: this.counterKey(repository, target),
            UpdateExpression: 'SET #released = :now ADD #refs :minus', ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { '#refs': REFS, '#pk': PARTITION_KEY, '#released': RELEASED_AT }, ExpressionAttributeValues: { ':minus': -1, ':now': this.now() },
          }
          : {
            TableName: this.table, Key: this.counterKey(repository, target),
            UpdateExpression: 'ADD #refs :minus', ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: { '#refs': REFS, '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':minus': -1 },
          },
      },
    ];
  }

  /** The reference-list items of a holder's generation (one for any ordinary manifest). */
  listItems(repository: string, holder: string, generation: string, targets: ReferenceTarget[]): Record<string, unknown>[] {
    const items: Record<string, unknown>[] = [];
    let current = { blobs: [] as string[], manifests: [] as string[] };
    let bytes = 0;
    const flush = () => {
      items.push({ ...itemKeys.referenceList(repository, holder, generation, items.length), ...current });
      current = { blobs: [], manifests: [] };
      bytes = 0;
    };
    for (const target of targets) {
      if (bytes + target.digest.length > LIST_ITEM_BUDGET) flush();
      (target.kind === 'blob' ? current.blobs : current.manifests).push(target.digest);
      bytes += target.digest.length + 4;
    }
    flush();
    return items;
  }

  async readList(repository: string, holder: string, generation: string): Promise<{ targets: ReferenceTarget[]; keys: Record<string, string>[] }> {
    const items = await queryAll(this.doc, this.table, itemKeys.repositoryPartition(repository),
      itemKeys.referenceListPrefix(holder, generation), 'DynamoDB Query (reference list)');
    const targets = items.flatMap((item) => targetsOf({ blobs: (item.blobs as string[]) ?? [], manifests: (item.manifests as string[]) ?? [] }));
    return { targets, keys: items.map((item) => ({ [PARTITION_KEY]: item[PARTITION_KEY] as string, [SORT_KEY]: item[SORT_KEY] as string })) };
  }

  /**
   * Records a holder's references in chunked transactions, for manifests with more targets
   * than fit in one transaction with the manifest. Every target must exist: else, or when a
   * transaction definitely failed, what this generation recorded is released again. Returns
   * the missing target, if any.
   */
  async record(repository: string, holder: string, generation: string, targets: ReferenceTarget[], deferred = false): Promise<ReferenceTarget | undefined> {
    const lists = this.listItems(repository, holder, generation, targets);
    for (const item of lists) {
      await guarded('DynamoDB PutItem (reference list)', () => this.doc.send(new PutCommand({ TableName: this.table, Item: item })));
    }
    const listKeys = lists.map((item) => ({ [PARTITION_KEY]: item[PARTITION_KEY] as string, [SORT_KEY]: item[SORT_KEY] as string }));
    const recorded: ReferenceTarget[] = [];
    let missing: ReferenceTarget | undefined;
    try {
      await forEachLimited(chunked(targets, this.perTransaction), TRANSACTION_CONCURRENCY, async (chunk) => {
        if (missing) return;
        const actions = chunk.flatMap((target) => this.recordActions(repository, holder, generation, target, deferred));
        const failed = await retryOnConflict(() => transactConditions(this.doc, 'record references', actions));
        if (failed.length === 0) recorded.push(...chunk);
        else missing ??= chunk[Math.floor(failed[0]! / 2)];
      });
    } catch (error) {
      // Not recorded for certain (a lost race or throttling): give back what was. After an
      // unknown outcome (a network failure) the recorded part stays: a leak, never a dangle.
      if (error instanceof StoreConflictError || error instanceof StoreThrottledError) await this.release(repository, holder, generation, recorded, listKeys);
      throw error;
    }
    if (missing) await this.release(repository, holder, generation, recorded, listKeys);
    return missing;
  }

  /**
   * Releases a holder generation's references in chunked transactions, then its list. The
   * released blobs are queued for garbage-collection review first (unless the caller did),
   * so a crash leaves at worst an extra review.
   */
  async release(
    repository: string, holder: string, generation: string, targets: ReferenceTarget[], listKeys?: Record<string, string>[], reviewsQueued = false,
  ): Promise<void> {
    if (!reviewsQueued) await queueReviews(this.doc, this.table, blobReviews(targets.filter((t) => t.kind === 'blob').map((t) => t.digest), this.now()));
    await forEachLimited(chunked(targets, this.perTransaction), TRANSACTION_CONCURRENCY, async (chunk) => {
      let pending = chunk;
      while (pending.length > 0) {
        const actions = pending.flatMap((target) => this.releaseActions(repository, holder, generation, target));
        const failed = new Set(await retryOnConflict(() => transactConditions(this.doc, 'release references', actions)));
        // A reference already gone (or a counter whose item is gone) is dropped; the rest go again.
        pending = pending.filter((_, index) => !failed.has(2 * index) && !failed.has(2 * index + 1));
        if (failed.size === 0) pending = [];
      }
    });
    const keys = listKeys ?? this.listItems(repository, holder, generation, targets).map((item) => ({
      [PARTITION_KEY]: item[PARTITION_KEY] as string, [SORT_KEY]: item[SORT_KEY] as string,
    }));
    for (const key of keys) {
      await guarded('DynamoDB DeleteItem (reference list)', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: key })));
    }
  }

  /**
   * A manifest that references `target` in the repository, to name in a refusal: preferably
   * one that is stored with the generation that recorded the reference.
   */
  async holderOf(repository: string, target: ReferenceTarget): Promise<string | undefined> {
    const [partition, prefix] = target.kind === 'blob'
      ? [itemKeys.blobLinksPartition(target.digest), itemKeys.blobReferencePrefix(repository)]
      : [itemKeys.repositoryPartition(repository), itemKeys.childReferencePrefix(target.digest)];
    const items = await queryAll(this.doc, this.table, partition, prefix, 'DynamoDB Query (references)', HOLDER_CANDIDATES);
    const candidates = items.map((item) => ({ holder: item.holder as string, generation: item.generation as string }));
    const manifests = await batchGet(this.doc, this.table, candidates.map((c) => itemKeys.manifest(repository, c.holder)), ['generation'], 'DynamoDB BatchGetItem (holders)');
    const stored = candidates.find((c) => manifests.get(itemId(itemKeys.manifest(repository, c.holder)))?.generation === c.generation);
    return (stored ?? candidates[0])?.holder;
  }

  /**
   * What a cached manifest (deferReferences) holds: every blob it lists, counted on the blob's
   * link (created if absent, so garbage collection keeps a blob filled later), and the child
   * manifests stored already. A child filled later is not held by its index: deleting it is not
   * refused, and the cache fills it again on the next pull of it.
   */
  async deferredTargets(repository: string, references: ManifestReferences): Promise<ReferenceTarget[]> {
    const children = references.manifests.length === 0 ? new Map<string, unknown>() : (await this.find(repository, { blobs: [], manifests: references.manifests })).manifests;
    return targetsOf({ blobs: references.blobs, manifests: references.manifests.filter((digest) => children.has(digest)) });
  }

  /** Bulk lookup for the core's reference check: linked blobs' records and stored manifests. */
  async find(repository: string, references: ManifestReferences): Promise<FoundReferences> {
    const keys = [
      ...references.blobs.flatMap((digest) => [itemKeys.blobLink(digest, repository), itemKeys.blob(digest)]),
      ...references.manifests.map((digest) => itemKeys.manifest(repository, digest)),
    ];
    const items = await batchGet(this.doc, this.table, keys, ['digest', 'size', 'location', 'createdAt', 'mediaType'], 'DynamoDB BatchGetItem (references)');
    const found: FoundReferences = { blobs: new Map(), manifests: new Map() };
    for (const digest of references.blobs) {
      const record = items.get(itemId(itemKeys.blob(digest)));
      if (!record || !items.has(itemId(itemKeys.blobLink(digest, repository)))) continue;
      const blob: BlobRecord = { digest, size: record.size as number, location: record.location as string, createdAt: record.createdAt as number };
      found.blobs.set(digest, blob);
    }
    for (const digest of references.manifests) {
      const item = items.get(itemId(itemKeys.manifest(repository, digest)));
      if (item) found.manifests.set(digest, { size: item.size as number, mediaType: item.mediaType as string });
    }
    return found;
  }

  private referenceKey(repository: string, holder: string, generation: string, target: ReferenceTarget) {
    return target.kind === 'blob'
      ? itemKeys.blobReference(target.digest, repository, holder, generation)
      : itemKeys.childReference(repository, target.digest, holder, generation);
  }

  private counterKey(repository: string, target: ReferenceTarget) {
    return target.kind === 'blob' ? itemKeys.blobLink(target.digest, repository) : itemKeys.manifest(repository, target.digest);
  }
}
