import { randomBytes } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeleteManifestOptions, Descriptor, ManifestRecord, ManifestReferences, PutManifestOptions } from '../../core/index';
import { StoreConflictError, StoreInUseError, StoreReferenceMissingError, StoreTagConflictError, StoreThrottledError } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { retryOnConflict } from './dynamo-helpers';
import { referrerItems } from './referrer-items';
import { storedBodyOf, type ManifestBodies, type StoredBody } from './manifest-bodies';
import { REFS, ReferenceRecords, targetsOf, type ReferenceTarget } from './reference-records';
import { PARTITION_KEY } from './table-schema';
import { TagItems } from './tag-items';
import { blobReviews, queueReviews } from './gc-reviews';
import { transact, transactConditions, type TransactItem } from './transactions';

export interface ReferenceTuning {
  /** Most references recorded in the manifest's own transaction. @default 45 (2 actions each, ≤ 10 for the rest) */
  readonly inline?: number;
  /** References per transaction when there are more. @default 50 (the 100-action limit) */
  readonly perTransaction?: number;
}
/** DynamoDB allows 100 actions per transaction: 49 tags (2 actions each) + the manifest. */
const TAGS_PER_TRANSACTION = 49;

/** Another request stored the same manifest while this one was recording its references. */
class CreatedConcurrently extends Error {}

/**
 * Manifests with their tags, referrers and references (keys and reasoning in data-layout.ts).
 * Every change that spans items is one TransactWriteItems, conditioned on what was read
 * first, and retried when a concurrent request changed it meanwhile:
 * - a new manifest item is written only if absent (`attribute_not_exists`), in the same
 *   transaction as its references (or after them, for manifests with many), so a manifest
 *   is never visible before everything it needs is verified and counted;
 * - storing a manifest again only tags it: the tag, its back-reference and a bump of the
 *   manifest's `tagRev` go together, conditioned on the manifest still existing;
 * - a manifest is deleted only if its `tagRev` and `generation` are unchanged since its
 *   tags were removed and no index counts it (`refs`): no tag or index is left dangling.
 */
export class ManifestIndex {
  readonly tags: TagItems;
  private readonly references: ReferenceRecords;
  private readonly inline: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly bodies: ManifestBodies,
    tuning: ReferenceTuning = {},
    private readonly now: () => number = Date.now,
  ) {
    this.tags = new TagItems(doc, table);
    this.references = new ReferenceRecords(doc, table, tuning.perTransaction, now);
    this.inline = tuning.inline ?? 45;
  }

  findReferences(repository: string, references: ManifestReferences) {
    return this.references.find(repository, references);
  }

  holderOf(repository: string, target: ReferenceTarget): Promise<string | undefined> {
    return this.references.holderOf(repository, target);
  }

  async put(repository: string, manifest: ManifestRecord, references: ManifestReferences, tag?: string, options?: PutManifestOptions): Promise<void> {
    const keepTag = options?.keepTag ?? false;
    const deferred = options?.deferReferences === true;
    await retryOnConflict(async () => {
      if (await this.getItem(repository, manifest.digest, [PARTITION_KEY])) return this.retag(repository, manifest, tag, keepTag);
      const targets = deferred ? await this.references.deferredTargets(repository, references) : targetsOf(references);
      try {
        return await (targets.length <= this.inline
          ? this.createInline(repository, manifest, targets, tag, keepTag, deferred)
          : this.createStaged(repository, manifest, targets, tag, keepTag, deferred));
      } catch (error) {
        // Deferred: a child manifest deleted since we looked is simply not held; look again.
        if (deferred && error instanceof StoreReferenceMissingError) throw new StoreConflictError(`a child of ${manifest.digest} was deleted concurrently`);
        throw error;
      }
    });
  }

  async get(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const item = await this.getItem(repository, digest);
    if (!item) return undefined;
    const body = await this.bodies.load(storedBodyOf(item));
    if (!body) return undefined;
    const record: ManifestRecord = {
      digest: item.digest as string, mediaType: item.mediaType as string, size: item.size as number, body, createdAt: item.createdAt as number,
    };
    if (item.subject !== undefined) record.subject = item.subject as string;
    if (item.artifactType !== undefined) record.artifactType = item.artifactType as string;
    if (item.annotations !== undefined) record.annotations = item.annotations as Record<string, string>;
    return record;
  }

  async delete(repository: string, digest: string, options?: DeleteManifestOptions): Promise<boolean> {
    let found = false;
    for (;;) {
      const done = await retryOnConflict(async () => {
        const item = await this.getItem(repository, digest, ['digest', 'generation', 'tagRev', REFS, 'subject', 'bodyKey']);
        if (!item) return true;
        found = true;
        if (((item[REFS] as number | undefined) ?? 0) > 0) {
          throw new StoreInUseError('manifest', digest, await this.references.holderOf(repository, { kind: 'manifest', digest }));
        }
        // Read tagRev (in `item`) before the back-references: a tag added after this read bumps it.
        const tags = await this.tags.pointingTo(repository, digest, TAGS_PER_TRANSACTION);
        // Retention: a tag added after its plan saves the manifest (tagRev makes a later one retry here).
        const refused = options?.untaggedOnly ? tags[0] : tags.find((tag) => options?.refuseTag?.(tag));
        if (refused !== undefined) throw new StoreTagConflictError(refused, digest);
        if (tags.length > 0) {
          // Only while no index holds it: a refused delete leaves the tags alone.
          await transact(this.doc, 'delete manifest tags', [
            ...tags.flatMap((tag) => this.tags.removalActions(repository, tag, digest)), this.unheld(repository, digest),
          ]);
          return false; // more tags may follow; then the manifest itself
        }
        await this.remove(repository, item);
        return true;
      });
      if (done) return found;
    }
  }

  listReferrers(repository: string, subject: string): Promise<Descriptor[]> {
    return referrerItems.list(this.doc, this.table, repository, subject);
  }

  /** The manifest is stored (with its references): only the tag moves to it. */
  private async retag(repository: string, manifest: ManifestRecord, tag: string | undefined, keepTag: boolean): Promise<void> {
    if (tag === undefined) return;
    const digest = manifest.digest;
    const current = await this.tags.resolve(repository, tag);
    if (current === digest) return this.tags.touch(repository, tag, digest, manifest.createdAt);
    // Immutable: the Put below is conditioned on `current`, so a tag created meanwhile is re-read on retry.
    if (keepTag && current !== undefined) throw new StoreTagConflictError(tag, current);
    await transact(this.doc, 'tag manifest', [{
      Update: {
        TableName: this.table, Key: itemKeys.manifest(repository, digest),
        UpdateExpression: 'SET tagRev = if_not_exists(tagRev, :zero) + :one', ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY }, ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
      },
    }, ...this.tags.moveActions(repository, tag, current, digest, manifest.createdAt)]);
  }

  /** One transaction: the manifest, its reference list and references, referrer entry and tag. */
  private async createInline(
    repository: string, manifest: ManifestRecord, targets: ReferenceTarget[], tag: string | undefined, keepTag: boolean, deferred: boolean,
  ): Promise<void> {
    const generation = newGeneration();
    const stored = await this.bodies.store(repository, manifest, generation);
    const creation = await this.creationActions(repository, manifest, stored, generation, tag, keepTag).catch(async (error: unknown) => {
      await this.bodies.remove(stored);
      throw error;
    });
    const lists = this.references.listItems(repository, manifest.digest, generation, targets).map((Item) => ({ Put: { TableName: this.table, Item } }));
    const recording = targets.flatMap((target) => this.references.recordActions(repository, manifest.digest, generation, target, deferred));
    const failed = await this.discardOnFailure(stored, () => transactConditions(this.doc, 'put manifest', [...lists, ...recording, ...creation]));
    if (failed.length === 0) return;
    await this.bodies.remove(stored);
    const counter = failed.find((index) => index >= lists.length && index < lists.length + recording.length);
    if (counter !== undefined) {
      const target = targets[Math.floor((counter - lists.length) / 2)]!;
      throw new StoreReferenceMissingError(target.kind, target.digest);
    }
    throw new StoreConflictError(`manifest ${manifest.digest} or its tag changed concurrently`);
  }

  /**
   * Too many references for one transaction: records them first, in chunks, then makes the
   * manifest visible. A crash in between leaves counted references of a generation that
   * never became visible: a leak (they keep targets from being deleted), never a dangle.
   */
  private async createStaged(
    repository: string, manifest: ManifestRecord, targets: ReferenceTarget[], tag: string | undefined, keepTag: boolean, deferred: boolean,
  ): Promise<void> {
    const generation = newGeneration();
    const stored = await this.bodies.store(repository, manifest, generation);
    const missing = await this.discardOnFailure(stored, () => this.references.record(repository, manifest.digest, generation, targets, deferred));
    if (missing) {
      await this.bodies.remove(stored);
      throw new StoreReferenceMissingError(missing.kind, missing.digest);
    }
    try {
      await retryOnConflict(async () => {
        const failed = await transactConditions(this.doc, 'put manifest', await this.creationActions(repository, manifest, stored, generation, tag, keepTag));
        if (failed.includes(0)) throw new CreatedConcurrently();
        if (failed.length > 0) throw new StoreConflictError(`tag ${tag} changed concurrently`);
      });
    } catch (error) {
      // Definitely not stored: give back what this generation holds. (After an unknown outcome,
      // a network failure, it may be stored: then its references must stay.)
      if (error instanceof CreatedConcurrently || error instanceof StoreConflictError || error instanceof StoreThrottledError
        || error instanceof StoreTagConflictError) {
        await this.references.release(repository, manifest.digest, generation, targets);
        await this.bodies.remove(stored);
      }
      throw error instanceof CreatedConcurrently ? new StoreConflictError(`manifest ${manifest.digest} was stored concurrently`) : error;
    }
  }

  /** The manifest item (if absent), its referrer entry and the tag. The item comes first. */
  private async creationActions(
    repository: string, manifest: ManifestRecord, stored: StoredBody, generation: string, tag: string | undefined, keepTag: boolean,
  ): Promise<TransactItem[]> {
    const current = tag === undefined ? undefined : await this.tags.resolve(repository, tag);
    if (keepTag && tag !== undefined && current !== undefined && current !== manifest.digest) throw new StoreTagConflictError(tag, current);
    const tagging = tag !== undefined && current !== manifest.digest;
    const item: Record<string, unknown> = {
      ...itemKeys.manifest(repository, manifest.digest), digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size,
      createdAt: manifest.createdAt, subject: manifest.subject, artifactType: manifest.artifactType, annotations: manifest.annotations,
      body: stored.body, bodyKey: stored.bodyKey, generation, ...(tagging ? { tagRev: 1 } : {}),
    };
    const actions: TransactItem[] = [{
      Put: { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } },
    }];
    if (manifest.subject) actions.push(referrerItems.put(this.table, repository, { ...manifest, subject: manifest.subject }));
    if (tagging) actions.push(...this.tags.moveActions(repository, tag, current, manifest.digest, manifest.createdAt));
    return actions;
  }

  /**
   * Deletes an untagged manifest item that no index counts, if unchanged since read, with its
   * referrer entry and its references (in the same transaction when they fit, else after it).
   */
  private async remove(repository: string, item: Record<string, unknown>): Promise<void> {
    const digest = item.digest as string;
    const generation = item.generation as string | undefined;
    const tagRev = item.tagRev as number | undefined;
    const conditions = [
      tagRev === undefined ? 'attribute_not_exists(tagRev)' : 'tagRev = :rev',
      generation === undefined ? 'attribute_not_exists(generation)' : 'generation = :generation',
      '(attribute_not_exists(#refs) OR #refs <= :zero)',
    ];
    const removal: TransactItem[] = [{
      Delete: {
        TableName: this.table, Key: itemKeys.manifest(repository, digest), ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: { '#refs': REFS },
        ExpressionAttributeValues: { ':zero': 0, ...(tagRev === undefined ? {} : { ':rev': tagRev }), ...(generation === undefined ? {} : { ':generation': generation }) },
      },
    }];
    if (item.subject !== undefined) removal.push(referrerItems.remove(this.table, repository, item.subject as string, digest));
    const { targets, keys } = generation === undefined ? { targets: [], keys: [] } : await this.references.readList(repository, digest, generation);
    // Reviews first: a crash after them leaves extra reviews, never a released blob unreviewed.
    const at = this.now();
    await queueReviews(this.doc, this.table, [
      ...blobReviews(targets.filter((target) => target.kind === 'blob').map((target) => target.digest), at),
      { kind: 'referrers', digest, repository, at },
    ]);
    if (targets.length <= this.inline && generation !== undefined) {
      const releasing = [
        ...keys.map((Key) => ({ Delete: { TableName: this.table, Key } })),
        ...targets.flatMap((target) => this.references.releaseActions(repository, digest, generation, target)),
      ];
      const failed = await transactConditions(this.doc, 'delete manifest', [...removal, ...releasing]);
      if (failed.length === 0) return this.bodies.remove(storedBodyOf(item));
      if (failed.some((index) => index < removal.length)) throw new StoreConflictError(`manifest ${digest} changed concurrently`);
      // A reference item is already gone (it should not be): remove step by step below.
    }
    await transact(this.doc, 'delete manifest', removal);
    if (generation !== undefined) await this.references.release(repository, digest, generation, targets, keys, true);
    await this.bodies.remove(storedBodyOf(item));
  }

  /** Runs a step; when it fails for certain (not with an unknown outcome), drops the stored body. */
  private async discardOnFailure<T>(stored: StoredBody, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof StoreConflictError || error instanceof StoreThrottledError) await this.bodies.remove(stored);
      throw error;
    }
  }

  /** Holds while no index counts the manifest. */
  private unheld(repository: string, digest: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.table, Key: itemKeys.manifest(repository, digest), ConditionExpression: 'attribute_not_exists(#refs) OR #refs <= :zero',
        ExpressionAttributeNames: { '#refs': REFS }, ExpressionAttributeValues: { ':zero': 0 },
      },
    };
  }

  /** The manifest item, whole or only the named attributes. */
  private async getItem(repository: string, digest: string, attributes?: string[]): Promise<Record<string, unknown> | undefined> {
    const names = attributes && Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
    const result = await guarded('DynamoDB GetItem (manifest)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.manifest(repository, digest), ConsistentRead: true,
      ...(names ? { ProjectionExpression: Object.keys(names).join(', '), ExpressionAttributeNames: names } : {}),
    })));
    return result.Item;
  }
}

/** A fresh generation: one attempt to store a manifest, naming its references and body object. */
function newGeneration(): string {
  return randomBytes(6).toString('hex');
}
