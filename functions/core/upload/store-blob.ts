import { StoreReferenceMissingError } from '../errors';
import type { BlobStore, Clock, MetadataStore, UploadRef } from '../ports';
import type { BlobRecord } from '../records';
import type { HeldUpload } from './lease';

/** Rounds of storing a blob whose stored copy garbage collection deleted meanwhile. */
const MAX_STORE_ATTEMPTS = 3;

/**
 * The last step of an upload whose digest is verified: stores the blob (or adopts the copy
 * stored already) and links it into the upload's repository, and only then drops its own bytes
 * if they are not needed. A store whose garbage collector deleted the stored copy in between
 * refuses the link (StoreReferenceMissingError), and the upload stores its own instead.
 * Every step may be repeated by a later holder of the session.
 */
export async function storeAndLink(
  deps: { blobs: BlobStore; metadata: MetadataStore; clock: Clock }, holder: HeldUpload, ref: UploadRef, digest: string,
): Promise<BlobRecord> {
  const { blobs, metadata, clock } = deps;
  const session = holder.session;
  for (let attempt = 1; ; attempt++) {
    const existing = await holder.guard(metadata.getBlob(digest));
    holder.check();
    let ours: string | undefined;
    let record: BlobRecord;
    if (existing) {
      record = existing;
    } else {
      ours = await holder.guard(blobs.completeUpload(ref, session.parts, session.offset, digest));
      holder.check();
      record = (await holder.guard(metadata.putBlob({ digest, size: session.offset, location: ours, createdAt: clock.now() }))).record;
    }
    try {
      await holder.guard(metadata.linkBlob(session.repository, digest));
    } catch (error) {
      if (error instanceof StoreReferenceMissingError && attempt < MAX_STORE_ATTEMPTS) continue;
      throw error;
    }
    // Someone stored these bytes already: keep theirs, drop ours.
    if (ours === undefined) await holder.guard(blobs.abortUpload(ref));
    else if (record.location !== ours) await blobs.delete(ours);
    return record;
  }
}
