import { RegistryError } from '../errors';
import type { BlobStore, Hashing, ResumableHasher } from '../ports';
import type { UploadSession } from '../records';

/**
 * The upload's hasher, positioned after its last byte: resumed from the saved state, or,
 * when a fast in-memory state is gone (a restart), rebuilt from the bytes if the store can
 * read them back.
 */
export async function resumeHasher(deps: { blobs: BlobStore; hashing: Hashing }, session: UploadSession): Promise<ResumableHasher> {
  const resumed = await deps.hashing.resume(session.hashAlgorithm, session.hashState);
  if (resumed) return resumed;
  const { blobs } = deps;
  const ref = { id: session.id, handle: session.handle };
  const durable = session.offset - (session.tail?.size ?? 0);
  const source = await blobs.readUpload(ref, session.parts, durable);
  const hasher = await deps.hashing.resume(session.hashAlgorithm);
  if (!source || !hasher) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', 'the upload\'s hash state was lost; start the upload again');
  }
  for await (const chunk of source) hasher.update(chunk);
  if (session.tail) hasher.update(await blobs.getStaged(ref, session.tail.name));
  return hasher;
}
