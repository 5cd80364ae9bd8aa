import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffId: string;
  uncompressedSize: number;
}

export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** Writes blobs into an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>). */
export class LayoutWriter {
  constructor(readonly dir: string) {}

  private get blobDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }

  blobPath(digest: string): string {
    return join(this.blobDir, digest.replace(/^sha256:/, ''));
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  /** Stores a JSON document as compact bytes (the digest covers exactly these). */
  async writeJson(mediaType: string, value: unknown): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /**
   * Gzips a layer tar into a blob in one streaming pass, hashing both the tar (diff id)
   * and the gzip (blob digest) on the way. Level 0 is the default because random bytes
   * do not compress: stored deflate blocks give the same size five times faster.
   */
  async writeLayer(tar: AsyncIterable<Uint8Array>, gzipLevel = 0): Promise<WrittenLayer> {
    const diffHash = createHash('sha256');
    const blobHash = createHash('sha256');
    let uncompressedSize = 0;
    let size = 0;
    const temporary = join(this.blobDir, `.partial-${randomUUID()}`);
    await pipeline(
      Readable.from(tar, { objectMode: false }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          diffHash.update(chunk);
          uncompressedSize += chunk.byteLength;
          yield chunk;
        }
      },
      createGzip({ level: gzipLevel }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          blobHash.update(chunk);
          size += chunk.byteLength;
          yield chunk;
        }
      },
      createWriteStream(temporary),
    );
    const digest = `sha256:${blobHash.digest('hex')}`;
    await rename(temporary, this.blobPath(digest));
    return {
      descriptor: { mediaType: OCI_LAYER_GZIP, digest, size },
      diffId: `sha256:${diffHash.digest('hex')}`,
      uncompressedSize,
    };
  }

  /** index.json: the layout's entry points, each named by its ref.name annotation. */
  async writeIndexJson(entries: Array<{ descriptor: Descriptor; refName: string }>): Promise<void> {
    const manifests = entries.map(({ descriptor, refName }) => ({
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
      annotations: { [REF_NAME]: refName },
    }));
    await writeFile(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  }
}
