import { z } from 'zod';
import { CliError } from '../../errors';
import { MEDIA, readSlice, sha256Bytes, sha256Slice, type BlobFile, type MemberFile, type PushPlan, type Selection, type SourceFiles } from './model';

const archiveManifest = z.array(z.object({
  Config: z.string(),
  RepoTags: z.array(z.string()).nullable().optional(),
  Layers: z.array(z.string()),
}).loose()).min(1);
type ArchiveImage = z.infer<typeof archiveManifest>[number];

const imageConfig = z.object({ rootfs: z.object({ diff_ids: z.array(z.string()) }).loose().optional() }).loose();

/**
 * A `docker save` archive in the classic format (manifest.json, the config JSON and one
 * tar per layer). It holds no registry manifest, so one is built: an OCI image manifest
 * whose blobs are the config and the layer files, each named by its hash as computed here.
 */
export async function readDockerArchive(files: SourceFiles, selection: Selection): Promise<PushPlan> {
  const manifestFile = await files.get('manifest.json');
  if (!manifestFile) throw new CliError(`${files.name} has no manifest.json: it is not a docker save archive`);
  let images;
  try {
    images = archiveManifest.parse(JSON.parse((await readSlice(manifestFile)).toString('utf8')));
  } catch {
    throw new CliError(`${files.name}: manifest.json is not a docker save manifest (a list of {Config, RepoTags, Layers})`);
  }
  const image = chooseImage(files.name, images, selection);

  const configFile = await member(files, image.Config);
  const configBytes = await readSlice(configFile);
  let diffIds: string[] = [];
  try {
    const config = imageConfig.safeParse(JSON.parse(configBytes.toString('utf8')));
    diffIds = config.success ? config.data.rootfs?.diff_ids ?? [] : [];
  } catch {
    throw new CliError(`${files.name}: ${image.Config} is not an image config (JSON)`);
  }
  const configBlob: BlobFile = { ...configFile, digest: sha256Bytes(configBytes), mediaType: MEDIA.ociConfig };

  const layers: BlobFile[] = [];
  for (const [index, name] of image.Layers.entries()) {
    const file = await member(files, name);
    const digest = file.digest ?? (await sha256Slice(file));
    const mediaType = layerMediaType(await readSlice(file, 4));
    // An uncompressed layer's digest is its diff id: a mismatch means a damaged archive.
    if (mediaType === MEDIA.ociLayer && diffIds[index] && diffIds[index] !== digest) {
      throw new CliError(`${files.name}: layer ${name} has digest ${digest} but the image config says ${diffIds[index]}: the archive is corrupt`);
    }
    layers.push({ path: file.path, offset: file.offset, size: file.size, digest, mediaType });
  }

  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size })),
  }));
  const blobs = [...new Map([configBlob, ...layers].map((blob) => [blob.digest, blob])).values()];
  return {
    blobs,
    manifests: [{ digest: sha256Bytes(manifest), mediaType: MEDIA.ociManifest, bytes: manifest }],
    summary: `docker-archive ${files.name}: ${image.RepoTags?.[0] ?? 'untagged image'}, ${layers.length} layers`,
  };
}

function chooseImage(source: string, images: ArchiveImage[], selection: Selection): ArchiveImage {
  const tags = (image: ArchiveImage) => image.RepoTags ?? [];
  const named = (wanted: string) => images.filter((image) => tags(image).some((tag) => tag === wanted || tag.endsWith(`/${wanted}`) || tag.endsWith(`:${wanted}`)));
  const available = images.flatMap(tags).join(', ') || '(untagged)';
  if (selection.sourceTag) {
    const found = named(selection.sourceTag);
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw new CliError(`${source} has no image tagged "${selection.sourceTag}"; it has: ${available}`);
    throw new CliError(`${source} has several images matching "${selection.sourceTag}": use the full name:tag (${available})`);
  }
  if (images.length === 1) return images[0]!;
  const byTag = selection.destinationTag ? named(selection.destinationTag) : [];
  if (byTag.length === 1) return byTag[0]!;
  throw new CliError(`${source} holds ${images.length} images (${available}): choose one with --source-tag NAME:TAG`);
}

async function member(files: SourceFiles, name: string): Promise<MemberFile> {
  const file = await files.get(name);
  if (!file) throw new CliError(`${files.name} lacks ${name}, which its manifest.json lists: the archive is incomplete`);
  return file;
}

/** Layers are usually plain tars in docker save; tell compressed ones by their magic bytes. */
function layerMediaType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA.ociLayerGzip;
  if (head.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return MEDIA.ociLayerZstd;
  return MEDIA.ociLayer;
}
