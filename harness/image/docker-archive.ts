import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuiltImage } from '../oci-image';
import { layerEntries } from './layer-content';
import { tarStream, type TarEntry } from './tar';

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/**
 * Writes `image` as a `docker save` archive (manifest.json, <config>.json and an
 * uncompressed <diff id>/layer.tar per layer) for `docker load`. Layer tars are
 * regenerated from their seeds and checked against the image's diff ids on the way.
 */
export async function writeDockerArchive(image: BuiltImage, path: string, repoTags: readonly string[]): Promise<void> {
  const config = await readFile(join(image.layoutDir, 'blobs', 'sha256', hex(image.config.digest)));
  const manifest = Buffer.from(JSON.stringify([{
    Config: `${hex(image.config.digest)}.json`,
    RepoTags: repoTags,
    Layers: image.layers.map((layer) => `${hex(layer.diffId)}/layer.tar`),
  }]));
  const entries: TarEntry[] = [
    bytesEntry(`${hex(image.config.digest)}.json`, config),
    ...image.layers.flatMap((layer): TarEntry[] => [
      { name: `${hex(layer.diffId)}/`, directory: true },
      {
        name: `${hex(layer.diffId)}/layer.tar`,
        size: layer.uncompressedSize,
        content: () => verified(tarStream(layerEntries(layer.content)), layer.diffId),
      },
    ]),
    bytesEntry('manifest.json', manifest),
  ];
  await pipeline(Readable.from(tarStream(entries), { objectMode: false }), createWriteStream(path));
}

function bytesEntry(name: string, bytes: Buffer): TarEntry {
  return {
    name,
    size: bytes.byteLength,
    async *content() {
      yield bytes;
    },
  };
}

async function* verified(chunks: AsyncIterable<Buffer>, diffId: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== diffId) throw new Error(`regenerated layer has diff id ${actual}, not ${diffId}: the layer builder is not deterministic`);
}
