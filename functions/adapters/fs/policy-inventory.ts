import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobRecord, ManifestReferences } from '../../core/index';
import { forEachLimited } from '../../core/index';
import type { ManifestInfo, TagInfo } from '../../core/policy/ports';
import { isNotFound, readJson } from './atomic';
import type { DataLayout } from './paths';
import type { RepositoryFiles } from './repository-files';

const FILE_CONCURRENCY = 32;

type StoredManifest = { digest: string; size: number; createdAt: number; subject?: string; references?: ManifestReferences };

/** Retention's reads of the files layout (paths.ts): tags with their times, every manifest record. */
export class FsPolicyInventory {
  constructor(private readonly layout: DataLayout, private readonly repos: RepositoryFiles) {}

  async listTagInfo(repository: string): Promise<TagInfo[]> {
    const entries = await this.repos.tagEntries(repository);
    const infos: TagInfo[] = [];
    await forEachLimited(entries, FILE_CONCURRENCY, async ([tag, digest]) => {
      infos.push({ tag, digest, ...(await this.repos.times.read(repository, tag, digest)) });
    });
    return infos;
  }

  async listManifestInfo(repository: string): Promise<ManifestInfo[]> {
    const root = join(this.layout.repository(repository), '_manifests');
    const files: string[] = [];
    for (const algorithm of await names(root)) {
      for (const file of await names(join(root, algorithm))) if (file.endsWith('.json')) files.push(join(root, algorithm, file));
    }
    const infos: ManifestInfo[] = [];
    await forEachLimited(files, FILE_CONCURRENCY, async (file) => {
      const record = await readJson<StoredManifest>(file);
      if (!record) return;
      infos.push({
        digest: record.digest, size: record.size, createdAt: record.createdAt, ...(record.subject ? { subject: record.subject } : {}),
        blobs: record.references?.blobs ?? [], children: record.references?.manifests ?? [],
      });
    });
    return infos;
  }

  async blobSizes(digests: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    await forEachLimited(digests, FILE_CONCURRENCY, async (digest) => {
      const record = await readJson<BlobRecord>(this.layout.blobRecord(digest));
      if (record) sizes.set(digest, record.size);
    });
    return sizes;
  }
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: unknown) => {
    if (isNotFound(error)) return [];
    throw error;
  });
}
