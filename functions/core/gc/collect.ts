import { StoreInUseError } from '../errors';
import type { Clock, Logger, MetadataStore } from '../ports';
import type { BlobVerdict, GcReview, GcStore } from './ports';
import type { GcTally } from './tally';
import { cloudEvent, EVENT_TYPES, REGISTRY_WIDE } from '../events/cloud-events';
import { recordChange, type WebhookEvents } from '../events/services';

/** What one pass works with: the stores, its cutoff and whether it may change anything. */
export interface PassContext {
  readonly gc: GcStore;
  readonly metadata: MetadataStore;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  readonly cutoff: number;
  readonly dryRun: boolean;
  readonly tally: GcTally;
  readonly events?: WebhookEvents | undefined;
}

/** Collects a blob (a dry run only inspects it) and counts what went. */
export async function decideBlob(pass: PassContext, digest: string): Promise<BlobVerdict['state']> {
  const earlier = pass.tally.decided(digest);
  if (earlier) return earlier; // a review and the full walk may both name it: its verdict stands
  const verdict = pass.dryRun ? await pass.gc.inspectBlob(digest, pass.cutoff)
    : pass.events ? await collectRecorded(pass, pass.events, digest) : await pass.gc.collectBlob(digest, pass.cutoff);
  if (verdict.state === 'garbage') pass.tally.blobDeleted(digest, verdict.size);
  pass.tally.decide(digest, verdict.state);
  return verdict.state;
}

/**
 * Collects a blob with its `io.nimbus.blob.deleted` event (reason "gc") recorded in the outbox
 * with the deletion, as a DELETE's is. The event names the size, so it is made before the
 * change from what collecting would do now (inspectBlob); a blob that is not garbage then is
 * left for a later pass, and the journal is dropped when collecting finds it no longer garbage.
 * Blob bytes belong to no repository once collected: the event's repository is empty, and it
 * goes to webhooks that watch every repository (and the bus).
 */
async function collectRecorded(pass: PassContext, events: WebhookEvents, digest: string): Promise<BlobVerdict> {
  const looked = await pass.gc.inspectBlob(digest, pass.cutoff);
  if (looked.state !== 'garbage') return looked;
  const deleted = cloudEvent(EVENT_TYPES.blobDeleted, { repository: REGISTRY_WIDE, digest, size: looked.size, reason: 'gc' }, pass.clock.now());
  let verdict: BlobVerdict = looked;
  await events.recorder.record(REGISTRY_WIDE, [deleted], async () => {
    verdict = await pass.gc.collectBlob(digest, pass.cutoff);
    return verdict.state === 'garbage';
  });
  return verdict;
}

/** Whether a review is done with: what stays recent or busy is looked at again by a later pass. */
function settles(state: BlobVerdict['state']): boolean {
  return state === 'garbage' || state === 'referenced' || state === 'absent';
}

export async function handleReview(pass: PassContext, review: GcReview): Promise<void> {
  pass.tally.reviewed++;
  if (review.kind === 'referrers') {
    await collectReferrers(pass, review);
    if (!pass.dryRun) await pass.gc.settleReview(review);
    return;
  }
  const state = await decideBlob(pass, review.digest);
  if (!pass.dryRun && settles(state)) await pass.gc.settleReview(review);
}

/**
 * Referrers live as long as their subject: once the subject is gone from the repository
 * (and stayed gone through the safety window), its referrers go too. Deleting them queues
 * reviews of their own blobs and referrers, which a later pass handles.
 */
async function collectReferrers(pass: PassContext, review: GcReview): Promise<void> {
  const repository = review.repository;
  if (!repository || (await pass.metadata.getManifest(repository, review.digest))) return;
  for (const referrer of await pass.metadata.listReferrers(repository, review.digest)) {
    if (pass.dryRun) {
      pass.tally.referrersDeleted++;
      continue;
    }
    try {
      const deleted = cloudEvent(EVENT_TYPES.manifestDeleted, { repository, digest: referrer.digest, reason: 'gc' }, pass.clock.now());
      if (await recordChange(pass.events, repository, [deleted], () => pass.metadata.deleteManifest(repository, referrer.digest))) pass.tally.referrersDeleted++;
    } catch (error) {
      // An index still lists it: it lives as long as that index.
      if (!(error instanceof StoreInUseError)) throw error;
      pass.logger?.log('info', 'gc keeps a referrer an index lists', { repository, referrer: referrer.digest, index: error.holder });
    }
  }
}
