import { join } from 'node:path';
import { buildOciImage, MiB, smallLayers, type BuiltImage } from '../../harness/oci-image';

/** The three images of the issue, deterministic (same seed, same digests on every run). */
export interface BenchImage {
  /** Short id used in repository names and results: "50mib", "500mib", "100-layers". */
  id: string;
  label: string;
  image: BuiltImage;
  /** Bytes a push moves: manifest + config + layers. */
  bytes: number;
}

export const IMAGE_SPECS = [
  { id: '50mib', label: '1 layer of 50 MiB', layerSizes: [50 * MiB] },
  { id: '500mib', label: '1 layer of 500 MiB', layerSizes: [500 * MiB] },
  { id: '100-layers', label: '100 layers of 4 KiB', layerSizes: smallLayers(100) },
] as const;

export type ImageId = (typeof IMAGE_SPECS)[number]['id'];

/** Builds every bench image into `dir`, streaming the big layers to disk. */
export async function buildBenchImages(dir: string, log: (message: string) => void): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (const spec of IMAGE_SPECS) {
    log(`building image ${spec.label}`);
    const image = await buildOciImage(join(dir, spec.id), { seed: `nimbus-bench/${spec.id}`, layerSizes: spec.layerSizes });
    const bytes = image.manifest.size + image.config.size + image.layers.reduce((sum, layer) => sum + layer.descriptor.size, 0);
    images.push({ id: spec.id, label: spec.label, image, bytes });
  }
  return images;
}
