import { StoreConflictError, StoreInUseError, StoreTagConflictError } from '../errors';
import type { Clock, MetadataStore } from '../ports';
import { immutableRule, parseImmutability } from './immutability';
import type { PolicyInventory, PolicyStore } from './ports';
import { cloudEvent, EVENT_TYPES } from '../events/cloud-events';
import { recordChange } from '../events/services';
import type { WebhookEvents } from '../events/services';
import { effectiveRetention } from '../cache/lifecycle';
import { parseCacheRules } from '../cache/rules';
import { blobsOfDeletions, parseRetention, planRetention, type PlannedDeletion, type RepositoryState } from './retention';

export interface RetentionDeps {
  readonly metadata: MetadataStore;
  readonly inventory: PolicyInventory;
  readonly policies: PolicyStore;
  readonly clock: Clock;
  /** Webhooks: each deletion's event is recorded with it (reason "retention"). */
  readonly events?: WebhookEvents;
}

export interface RetentionReport {
  readonly dryRun: boolean;
  /** Epoch ms the plan was evaluated at (the run's clock). */
  readonly evaluatedAt: number;
  readonly repositories: number;
  /** What was deleted (dry: what a run would delete), in order. */
  readonly deleted: PlannedDeletion[];
  readonly tagsDeleted: number;
  readonly manifestsDeleted: number;
  /** Bytes the deletions free once garbage collection collects the blobs no survivor uses. */
  readonly bytesFreed: number;
  /**
   * Planned deletions a concurrent change made moot (tag moved, manifest re-tagged or listed by a
   * new index), or that the run's deadline left for the next run.
   */
  readonly skipped: Array<PlannedDeletion & { why: string }>;
}

export interface RetentionOptions {
  readonly dryRun: boolean;
  /**
   * Epoch ms (the deps' clock) a scheduled run must end by: listing stops with
   * RetentionOutOfTimeError, deletions not applied yet are skipped. Each deletion stands alone,
   * so stopping between two is safe: the next run plans again from what is left.
   */
  readonly deadline?: number;
}

/** A run's deadline passed while it listed the repositories: nothing was deleted. */
export class RetentionOutOfTimeError extends Error {}


const REPOSITORY_PAGE = 1000;

/** Every repository with its tags and manifests. */
async function inventoryOf(deps: RetentionDeps, deadline: number | undefined): Promise<RepositoryState[]> {
  const states: RepositoryState[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await deps.metadata.listRepositories({ limit: REPOSITORY_PAGE, ...(after === undefined ? {} : { after }) });
    for (const repository of page.items) {
      if (deadline !== undefined && deps.clock.now() >= deadline) {
        throw new RetentionOutOfTimeError(`retention ran out of time listing repositories (${states.length} listed); nothing was deleted`);
      }
      const [tags, manifests] = await Promise.all([deps.inventory.listTagInfo(repository), deps.inventory.listManifestInfo(repository)]);
      states.push({ repository, tags, manifests });
    }
    if (!page.more || page.items.length === 0) return states;
    after = page.items[page.items.length - 1];
  }
}

/**
 * The deletion list for the current state and clock: the retention document's, plus each cache
 * rule's lifecycle where no rule of the operator's governs (core/cache/lifecycle.ts); empty
 * when neither says anything.
 */
export async function planCurrentRetention(deps: RetentionDeps, now: number, deadline?: number): Promise<{ plan: PlannedDeletion[]; repositories: number }> {
  const [retention, immutability, cache] = await Promise.all([
    deps.policies.get('retention'), deps.policies.get('immutability'), deps.policies.get('cache'),
  ]);
  const document = effectiveRetention(retention ? parseRetention(retention.document) : undefined, cache ? parseCacheRules(cache.document) : undefined);
  // No rule at all (no document, an empty one, no cache lifecycle): nothing is listed, so a
  // scheduled run on a registry that never set one costs three policy reads.
  if (!document || document.rules.length === 0) return { plan: [], repositories: 0 };
  const locks = immutability ? parseImmutability(immutability.document) : undefined;
  const isProtected = (repository: string, tag: string) => immutableRule(locks, repository, tag) !== undefined;
  const states = await inventoryOf(deps, deadline);
  const unsized = planRetention(document, states, new Map(), now, isProtected);
  const sizes = await deps.inventory.blobSizes(blobsOfDeletions(states, unsized));
  return { plan: planRetention(document, states, sizes, now, isProtected), repositories: states.length };
}

/**
 * A retention run: plans, then (unless dry) applies the plan in order. Each deletion is
 * conditional, so one that a concurrent push made wrong is skipped, never forced: a tag is
 * deleted only while it still points where planned, a manifest only while still untagged.
 */
export async function runRetention(deps: RetentionDeps, options: RetentionOptions): Promise<RetentionReport> {
  const evaluatedAt = deps.clock.now();
  const { deadline } = options;
  const { plan, repositories } = await planCurrentRetention(deps, evaluatedAt, deadline);
  const deleted: PlannedDeletion[] = [];
  const skipped: RetentionReport['skipped'] = [];
  for (const entry of plan) {
    const late = !options.dryRun && deadline !== undefined && deps.clock.now() >= deadline;
    const why = options.dryRun ? undefined : late ? 'out of time; the next run goes on' : await apply(deps, entry);
    if (why === undefined) deleted.push(entry);
    else skipped.push({ ...entry, why });
  }
  return {
    dryRun: options.dryRun, evaluatedAt, repositories, deleted,
    tagsDeleted: deleted.filter((d) => d.tag !== undefined).length,
    manifestsDeleted: deleted.filter((d) => d.tag === undefined).length,
    bytesFreed: deleted.reduce((sum, d) => sum + d.bytes, 0),
    skipped,
  };
}

/** Applies one deletion; returns why it was skipped, or undefined when done. */
async function apply(deps: RetentionDeps, entry: PlannedDeletion): Promise<string | undefined> {
  const { metadata, events } = deps;
  const { repository, tag, digest } = entry;
  const type = tag === undefined ? EVENT_TYPES.manifestDeleted : EVENT_TYPES.tagDeleted;
  const made = [cloudEvent(type, { repository, digest, tag, reason: 'retention' }, deps.clock.now())];
  try {
    if (tag !== undefined) {
      const deleted = await recordChange(events, repository, made, () => metadata.deleteTag(repository, tag, digest));
      return deleted ? undefined : 'the tag moved or was deleted meanwhile';
    }
    const deleted = await recordChange(events, repository, made, () => metadata.deleteManifest(repository, digest, { untaggedOnly: true }));
    return deleted ? undefined : 'the manifest was deleted meanwhile';
  } catch (error) {
    if (error instanceof StoreTagConflictError) return `the manifest was tagged ${error.tag} meanwhile`;
    if (error instanceof StoreInUseError) return `index ${error.holder ?? '(unknown)'} lists the manifest now`;
    // Lost every retry to concurrent writers: left for the next run rather than failing this one.
    if (error instanceof StoreConflictError) return 'changed concurrently; the next run decides again';
    throw error;
  }
}
