import { RegistryError } from '../errors';
import type { BlobStore, ByteSource, ResumableHasher, UploadRef } from '../ports';
import type { PartRecord, StagedTail } from '../records';
import { ChunkReader } from './chunk-reader';
import { concat } from '../bytes';
import { joinIntoPart } from './part-buffers';
import { nextPartNumber, type Fence } from './lease';

/** Where an upload stands: what is durable in the store, and the hash of all of it. */
export interface UploadProgress {
  offset: number;
  parts: PartRecord[];
  tail: StagedTail | undefined;
  hashState: string;
}

export interface PartWriterOptions {
  blobs: BlobStore;
  upload: UploadRef;
  /** Hasher positioned at `start.offset`. */
  hasher: ResumableHasher;
  start: Omit<UploadProgress, 'hashState'> & { partFloor: number | undefined };
  /** Reject the body once it exceeds this many bytes. */
  maxBytes?: number;
  /**
   * Called after every part lands, so a crash loses at most one part. The next part is
   * started only after it returns (lease.ts relies on one unrecorded part at a time).
   */
  checkpoint(progress: UploadProgress): Promise<void>;
  /** The request's lease: checked before every store write, and ends waits when lost. */
  fence: Fence;
  /** Unique name for a staged tail written by this request. */
  tailName: string;
}

/**
 * Appends one request body to an upload, cutting it into parts the store accepts:
 * - streaming stores (files) take each part as a stream of `partSize` bytes;
 * - buffered stores (S3) take parts of at least `minPartSize`, buffered in memory one at a
 *   time while the previous one uploads; a remainder too short to be a part is staged and
 *   folded into the next request's first part.
 * Every byte is hashed exactly once, as it arrives.
 */
export async function appendBody(source: ByteSource, options: PartWriterOptions): Promise<UploadProgress> {
  const policy = options.blobs.partPolicy;
  return policy.minPartSize === 0 ? appendStreamed(source, options) : appendBuffered(source, options);
}

function allocatePart(parts: PartRecord[], partFloor: number | undefined, maxParts: number): number {
  const number = nextPartNumber(parts, partFloor);
  if (number > maxParts) {
    throw new RegistryError('SIZE_INVALID', `upload exceeds the store's limit of ${maxParts} parts`, { status: 413 });
  }
  return number;
}

async function appendStreamed(source: ByteSource, options: PartWriterOptions): Promise<UploadProgress> {
  const { blobs, upload, hasher, checkpoint, fence } = options;
  const { partSize, maxParts } = blobs.partPolicy;
  const reader = new ChunkReader(source, hasher, options.maxBytes, fence);
  const parts = [...options.start.parts];
  let offset = options.start.offset;
  let hashState = hasher.save();

  while (await reader.hasMore()) {
    const number = allocatePart(parts, options.start.partFloor, maxParts);
    const before = reader.consumed;
    fence.check();
    const record = await fence.guard(blobs.writePart(upload, { number, offset }, reader.take(partSize)));
    const written = reader.consumed - before;
    if (record.size !== written) throw new Error(`store wrote ${record.size} bytes of a ${written}-byte part`);
    parts.push(record);
    offset += written;
    hashState = hasher.save();
    if (await reader.hasMore()) await checkpoint({ offset, parts: [...parts], tail: undefined, hashState });
  }
  return { offset, parts, tail: undefined, hashState };
}

async function appendBuffered(source: ByteSource, options: PartWriterOptions): Promise<UploadProgress> {
  const { blobs, upload, hasher, checkpoint, start, fence } = options;
  const { partSize, minPartSize, maxParts } = blobs.partPolicy;
  const reader = new ChunkReader(source, hasher, options.maxBytes, fence);
  const parts = [...start.parts];
  const tailBytes = start.tail ? await fence.guard(blobs.getStaged(upload, start.tail.name)) : new Uint8Array(0);
  if (start.tail && tailBytes.byteLength !== start.tail.size) {
    throw new Error(`staged tail ${start.tail.name} holds ${tailBytes.byteLength} bytes, expected ${start.tail.size}`);
  }
  // The staged tail was hashed when it arrived; it only needs to join the next part.
  let pending: Uint8Array[] = tailBytes.byteLength ? [tailBytes] : [];
  let pendingSize = tailBytes.byteLength;
  let durableOffset = start.offset - (start.tail?.size ?? 0);
  let tail = start.tail;
  let inFlight: Promise<void> | undefined;

  const uploadPart = ({ bytes, release }: PartBytes, hashState: string, isLast: boolean): Promise<void> => {
    const number = allocatePart(parts, start.partFloor, maxParts);
    const offset = durableOffset;
    fence.check();
    // Reserve the number now so the next buffered part gets the following one.
    parts.push({ number, size: bytes.byteLength, etag: '' });
    durableOffset += bytes.byteLength;
    const write = blobs.writePart(upload, { number, offset }, bytes);
    // The array is kept for a later part once the store is done with it, even if this request stopped waiting.
    write.then(release, release);
    return fence.guard(write).then(async (record) => {
      const index = parts.findIndex((part) => part.number === number);
      parts[index] = record;
      tail = undefined;
      // The request's final state is persisted by the caller; checkpoint only parts before it.
      // A part the body ended with exactly is such a last part too: nothing follows it.
      const nothingFollows = reader.exhausted && pendingSize === 0;
      if (!isLast && !nothingFollows) await checkpoint({ offset: offset + bytes.byteLength, parts: parts.slice(0, index + 1), tail: undefined, hashState });
    });
  };

  try {
    while (await reader.hasMore()) {
      for await (const chunk of reader.take(partSize - pendingSize)) {
        pending.push(chunk);
        pendingSize += chunk.byteLength;
      }
      if (pendingSize < partSize) break; // the body ended inside this part
      const bytes = partOf(pending, pendingSize, partSize);
      pending = [];
      pendingSize = 0;
      const hashState = hasher.save();
      await inFlight; // at most one part uploading while the next one fills
      const next = uploadPart(bytes, hashState, false);
      next.catch(() => undefined); // observed by the await above or below; avoid an unhandled rejection meanwhile
      inFlight = next;
    }
    await inFlight;
  } catch (error) {
    // A failed body must not leave a part upload running behind a released lease: the next
    // request would reuse its number. (A lost lease stops waiting at once; lease.ts fences it.)
    if (inFlight) await fence.guard(inFlight).catch(() => undefined);
    throw error;
  }

  const hashState = hasher.save();
  if (pendingSize >= minPartSize && pendingSize > 0) {
    await uploadPart(partOf(pending, pendingSize, partSize), hashState, true);
  } else if (pendingSize > 0) {
    allocatePart(parts, start.partFloor, maxParts); // the tail becomes a part at commit: refuse it now if there is no room
    const name = options.tailName;
    fence.check();
    await fence.guard(blobs.putStaged(upload, name, concat(pending, pendingSize)));
    tail = { name, size: pendingSize };
  }
  const offset = durableOffset + (tail?.size ?? 0);
  return { offset, parts, tail, hashState };
}

interface PartBytes {
  bytes: Uint8Array;
  /** Hands the array back for a later part; only once the store is done reading it. */
  release(): void;
}

/** The pending chunks as one part: the only chunk as it is, else joined into a kept array (part-buffers.ts). */
function partOf(pending: Uint8Array[], size: number, partSize: number): PartBytes {
  if (pending.length === 1 && pending[0]!.byteLength === size) return { bytes: pending[0]!, release: () => undefined };
  return joinIntoPart(pending, size, partSize);
}
