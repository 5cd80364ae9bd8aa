import { z } from 'zod';
import { CliError } from '../../errors';
import { MEDIA, readSlice, sha256Bytes, type BlobFile, type ManifestDocument, type PushPlan, type Selection, type SourceFiles } from './model';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^[a-z0-9]+:[a-f0-9]+$/),
  size: z.number().int().nonnegative(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).loose().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
}).loose();
type Descriptor = z.infer<typeof descriptor>;

const document = z.object({
  mediaType: z.string().optional(),
  manifests: z.array(descriptor).optional(),
  config: descriptor.optional(),
  layers: z.array(descriptor).optional(),
  blobs: z.array(descriptor).optional(),
}).loose();
type ImageDocument = z.infer<typeof document>;

const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList];

/**
 * An OCI image layout (index.json + blobs/<alg>/<hex>), as a directory, an OCI tar, or the
 * tar of a newer `docker save`. Blob files are trusted to be what their names say unless
 * they were hashed on unpacking: the registry verifies every byte anyway.
 */
export async function readOciLayout(files: SourceFiles, selection: Selection): Promise<PushPlan> {
  const index = await readDocument(files, 'index.json', undefined);
  const entries = index.json.manifests ?? [];
  if (entries.length === 0) throw new CliError(`${files.name}: index.json lists no images`);
  const top = await chooseEntry(files, entries, selection);
  const collected = new Collector(files);
  await collected.add(top, selection.platform);
  const images = collected.manifests.length;
  return {
    blobs: [...collected.blobs.values()],
    manifests: collected.manifests,
    summary: `OCI layout ${files.name}: ${images === 1 ? '1 manifest' : `${images} manifests`}, ${collected.blobs.size} blobs`,
  };
}

function names(entry: Descriptor): string[] {
  return [entry.annotations?.[REF_NAME], entry.annotations?.[CONTAINERD_NAME]].filter((name): name is string => Boolean(name));
}

function matches(entry: Descriptor, wanted: string): boolean {
  return names(entry).some((name) => name === wanted || name.endsWith(`/${wanted}`));
}

async function chooseEntry(files: SourceFiles, entries: Descriptor[], selection: Selection): Promise<Descriptor> {
  const distinct = (list: Descriptor[]) => [...new Map(list.map((entry) => [entry.digest, entry])).values()];
  const available = entries.flatMap(names).join(', ') || '(none named)';
  if (selection.sourceTag) {
    const found = distinct(entries.filter((entry) => matches(entry, selection.sourceTag!)));
    if (found.length === 1) return found[0]!;
    if (found.length === 0) throw new CliError(`${files.name} has no image named "${selection.sourceTag}"; it has: ${available}`);
    throw new CliError(`${files.name} has several images named "${selection.sourceTag}": use a fuller name (${available})`);
  }
  const all = distinct(entries);
  if (all.length === 1) return all[0]!;
  if (selection.destinationTag) {
    const byTag = distinct(entries.filter((entry) => entry.annotations?.[REF_NAME] === selection.destinationTag));
    if (byTag.length === 1) return byTag[0]!;
  }
  // Children of an index are often named too (skopeo, buildx): the one entry no other entry contains is the image.
  const children = new Set<string>();
  for (const entry of all) {
    if (!isIndex(entry)) continue;
    const child = await readDocument(files, blobMember(entry.digest), entry).catch(() => undefined);
    for (const each of child?.json.manifests ?? []) children.add(each.digest);
  }
  const roots = all.filter((entry) => !children.has(entry.digest));
  if (roots.length === 1) return roots[0]!;
  throw new CliError(`${files.name} holds ${all.length} images (${available}): choose one with --source-tag NAME`);
}

function isIndex(entry: { mediaType?: string | undefined }): boolean {
  return INDEX_TYPES.includes(entry.mediaType ?? '');
}

function blobMember(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

function platformOf(entry: Descriptor): string {
  const p = entry.platform;
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown platform';
}

async function readDocument(files: SourceFiles, member: string, expected: Descriptor | undefined): Promise<{ bytes: Buffer; json: ImageDocument }> {
  const file = await files.get(member);
  if (!file) {
    const what = expected ? `the ${isIndex(expected) ? 'index' : 'manifest'} ${expected.digest}` : member;
    throw new CliError(`${files.name} lacks ${what}${expected ? ` (${member})` : ''}: it is not a complete OCI layout`);
  }
  const bytes = await readSlice(file);
  if (expected && (sha256Bytes(bytes) !== expected.digest || bytes.byteLength !== expected.size)) {
    throw new CliError(`${files.name}: ${member} does not match its descriptor (${expected.digest}, ${expected.size} bytes): the layout is corrupt`);
  }
  let parsed;
  try {
    parsed = document.safeParse(JSON.parse(bytes.toString('utf8')));
  } catch {
    throw new CliError(`${files.name}: ${member} is not JSON`);
  }
  if (!parsed.success) throw new CliError(`${files.name}: ${member} is not an OCI index or manifest (${parsed.error.issues[0]?.message})`);
  return { bytes, json: parsed.data };
}

/** Walks from the chosen entry to every manifest and blob it needs, children first. */
class Collector {
  readonly blobs = new Map<string, BlobFile>();
  readonly manifests: ManifestDocument[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly files: SourceFiles) {}

  async add(entry: Descriptor, platform?: string): Promise<void> {
    if (this.seen.has(entry.digest)) return;
    const { bytes, json } = await readDocument(this.files, blobMember(entry.digest), entry);
    const mediaType = entry.mediaType ?? json.mediaType ?? (json.manifests ? MEDIA.ociIndex : MEDIA.ociManifest);
    if (json.manifests) {
      const children = json.manifests;
      if (platform) {
        const chosen = children.find((child) => platformOf(child) === platform || (child.platform && `${child.platform.os}/${child.platform.architecture}` === platform));
        if (!chosen) throw new CliError(`${this.files.name}: the index has no ${platform} image; it has ${children.map(platformOf).join(', ')}`);
        return this.add(chosen);
      }
      const missing: Descriptor[] = [];
      for (const child of children) if (!(await this.files.get(blobMember(child.digest)))) missing.push(child);
      if (missing.length > 0) {
        const present = children.filter((child) => !missing.includes(child)).map(platformOf);
        throw new CliError(`${this.files.name}: the index lists ${missing.map(platformOf).join(', ')} but the layout lacks ${missing.length === 1 ? 'that image' : 'those images'} `
          + `(docker save keeps only the platforms it has pulled). Push one platform with --platform${present.length ? `, e.g. --platform ${present[0]}` : ''}`);
      }
      for (const child of children) await this.add(child);
    } else {
      for (const blob of [json.config, ...(json.layers ?? []), ...(json.blobs ?? [])]) if (blob) await this.addBlob(blob);
    }
    this.seen.add(entry.digest);
    this.manifests.push({ digest: entry.digest, mediaType, bytes });
  }

  private async addBlob(blob: Descriptor): Promise<void> {
    if (this.blobs.has(blob.digest)) return;
    const member = blobMember(blob.digest);
    const file = await this.files.get(member);
    if (!file) throw new CliError(`${this.files.name} lacks the blob ${blob.digest} (${member}): it is not a complete OCI layout`);
    if (file.size !== blob.size) throw new CliError(`${this.files.name}: ${member} is ${file.size} bytes but its descriptor says ${blob.size}: the layout is corrupt`);
    if (file.digest && file.digest !== blob.digest) throw new CliError(`${this.files.name}: ${member} has digest ${file.digest}, not ${blob.digest}: the archive is corrupt`);
    this.blobs.set(blob.digest, { path: file.path, offset: file.offset, size: blob.size, digest: blob.digest, mediaType: blob.mediaType ?? 'application/octet-stream' });
  }
}
