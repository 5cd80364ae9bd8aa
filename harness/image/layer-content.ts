import { seededBytes } from './seeded-bytes';
import type { TarEntry } from './tar';

/**
 * What one test layer holds: a file of `size` pseudo-random bytes, and beside it a small
 * file naming the seed, so that even two empty layers of different seeds differ.
 */
export interface LayerContent {
  /** Determines the file's bytes. */
  seed: string;
  /** Path of the file inside the layer. */
  path: string;
  size: number;
}

/** The tar entries of a layer; regenerating them always gives the same bytes. */
export function layerEntries(content: LayerContent): TarEntry[] {
  const parts = content.path.split('/').slice(0, -1);
  const directories = parts.map((_, depth) => ({ name: `${parts.slice(0, depth + 1).join('/')}/`, directory: true as const }));
  return [
    ...directories,
    bytesFile(`${content.path}.seed`, Buffer.from(`${content.seed}\n`)),
    { name: content.path, size: content.size, content: () => seededBytes(content.seed, content.size) },
  ];
}

function bytesFile(name: string, bytes: Buffer): TarEntry {
  return {
    name,
    size: bytes.byteLength,
    async *content() {
      yield bytes;
    },
  };
}
