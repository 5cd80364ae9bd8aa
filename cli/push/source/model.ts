import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes of the source on disk: a whole file, or a member of a tar read in place
 * (`offset` into it). Never read into memory whole, except small JSON documents.
 */
export interface FileSlice {
  path: string;
  offset: number;
  size: number;
}

/** A file of the source, with its sha256 when it was computed on the way in. */
export interface MemberFile extends FileSlice {
  digest?: string;
}

/** A blob to push. */
export interface BlobFile extends FileSlice {
  digest: string;
  mediaType: string;
}

/** A manifest or index to put, with its exact bytes (the digest covers them). */
export interface ManifestDocument {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/**
 * What a push sends: blobs first, then manifests in order (an index's children before
 * it). The last manifest is the one REF names; the others go by digest.
 */
export interface PushPlan {
  blobs: BlobFile[];
  manifests: ManifestDocument[];
  /** What was read, for the log ("OCI layout, 1 image"). */
  summary: string;
}

/** Which image of a source holding several to push. */
export interface Selection {
  /** --source-tag: a ref.name annotation (OCI layout) or a RepoTags entry (docker-archive). */
  sourceTag?: string;
  /** --platform os/arch[/variant]: one image of a multi-platform index. */
  platform?: string;
  /** REF's tag, tried when nothing else decides. */
  destinationTag?: string;
}

/** The files of a source: a directory as it is, or an archive unpacked with hashes. */
export interface SourceFiles {
  /** The source as the user named it, for messages. */
  name: string;
  get(member: string): Promise<MemberFile | undefined>;
}

export function directoryFiles(root: string, name: string): SourceFiles {
  return {
    name,
    async get(member) {
      const path = join(root, member);
      const info = await stat(path).catch(() => undefined);
      return info?.isFile() ? { path, offset: 0, size: info.size } : undefined;
    },
  };
}

export function archiveFiles(files: Map<string, MemberFile>, name: string): SourceFiles {
  return { name, get: async (member) => files.get(member) };
}

/** The sha256 of a slice, read as a stream. */
export async function sha256Slice(slice: FileSlice): Promise<string> {
  const hash = createHash('sha256');
  if (slice.size > 0) {
    for await (const chunk of createReadStream(slice.path, { start: slice.offset, end: slice.offset + slice.size - 1 })) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The first `length` bytes of a slice (the whole slice by default); for JSON documents and small blobs. */
export async function readSlice(slice: FileSlice, length = slice.size): Promise<Buffer> {
  const handle = await open(slice.path, 'r');
  try {
    const bytes = Buffer.alloc(Math.min(length, slice.size));
    const { bytesRead } = await handle.read(bytes, 0, bytes.byteLength, slice.offset);
    return bytes.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export function sha256Bytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;
