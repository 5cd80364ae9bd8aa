import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Paged } from '../../core/gc/ports';
import type { UploadSession } from '../../core/index';
import { readJson } from './atomic';
import { listDir } from './files';
import type { FsMetadataStore } from './metadata-store';
import type { DataLayout } from './paths';

/**
 * An upload directory without a session is left this long: an upload creates its directory
 * just before its session, and must not lose it in between, whatever the safety window.
 */
const SESSIONLESS_UPLOAD_GRACE_MS = 60 * 60 * 1000;

/** Every blob record's digest in order (meta/blobs/<alg>/<hh>/<hex>.json), a page at a time. */
export async function walkBlobRecords(root: string, limit: number, after?: string): Promise<Paged<string>> {
  const items: string[] = [];
  const [afterAlg = '', afterHex = ''] = after?.split(':') ?? [];
  for (const alg of sorted(await listDir(root))) {
    if (after !== undefined && alg < afterAlg) continue;
    for (const hh of sorted(await listDir(join(root, alg)))) {
      if (after !== undefined && alg === afterAlg && hh < afterHex.slice(0, 2)) continue;
      for (const file of sorted(await listDir(join(root, alg, hh)))) {
        if (!file.endsWith('.json')) continue;
        const digest = `${alg}:${file.slice(0, -'.json'.length)}`;
        if (after !== undefined && digest <= after) continue;
        if (items.length === limit) return { items, next: items.at(-1)! };
        items.push(digest);
      }
    }
  }
  return { items };
}

export interface UploadSweep {
  readonly layout: DataLayout;
  readonly metadata: FsMetadataStore;
  readonly now: number;
  readonly cutoff: number;
  readonly dryRun: boolean;
}

/**
 * Abandoned uploads: sessions past their expiry (NIMBUS_UPLOAD_SESSION_TTL after their last
 * request) with their upload directories, and upload directories no session owns, older than
 * the cutoff and an hour.
 */
export async function sweepAbandonedUploads(sweep: UploadSweep): Promise<{ uploads: number; bytes: number }> {
  const { layout, metadata, dryRun } = sweep;
  let uploads = 0;
  let bytes = 0;
  const live = new Set<string>();
  for (const file of await listDir(layout.uploadSessionsRoot)) {
    const session = await readJson<UploadSession>(join(layout.uploadSessionsRoot, file));
    if (!session) continue;
    if (session.expiresAt * 1000 > sweep.now) {
      live.add(session.id);
      continue;
    }
    uploads++;
    bytes += await sizeOf(layout.upload(session.id));
    if (dryRun) continue;
    await rm(layout.upload(session.id), { recursive: true, force: true });
    await metadata.deleteUpload(session.id);
  }
  const oldEnough = Math.min(sweep.cutoff, sweep.now - SESSIONLESS_UPLOAD_GRACE_MS);
  for (const id of await listDir(layout.uploadsRoot)) {
    if (live.has(id) || !isUploadId(id) || (await readJson(layout.uploadSession(id)))) continue;
    const info = await stat(join(layout.uploadsRoot, id)).catch(() => undefined);
    if (!info || info.mtimeMs > oldEnough) continue;
    uploads++;
    bytes += await sizeOf(join(layout.uploadsRoot, id));
    if (!dryRun) await rm(join(layout.uploadsRoot, id), { recursive: true, force: true });
  }
  return { uploads, bytes };
}

export interface OrphanSweep {
  readonly layout: DataLayout;
  readonly cutoff: number;
  readonly dryRun: boolean;
  /** Removes the blob's bytes if it still has no record (under its lock); whether it did. */
  removeIfOrphan(digest: string): Promise<boolean>;
}

/** Bytes under blobs/ that no blob record points to, older than the cutoff (crash leftovers). */
export async function sweepOrphanBlobs(sweep: OrphanSweep): Promise<{ objects: number; bytes: number }> {
  const { layout } = sweep;
  const recorded = async (digest: string) => (await readJson(layout.blobRecord(digest))) !== undefined;
  let objects = 0;
  let bytes = 0;
  for (const alg of await listDir(layout.blobsRoot)) {
    for (const hh of await listDir(join(layout.blobsRoot, alg))) {
      for (const hex of await listDir(join(layout.blobsRoot, alg, hh))) {
        const digest = `${alg}:${hex}`;
        if (!/^[a-z0-9]+:[a-f0-9]{64,128}$/.test(digest) || (await recorded(digest))) continue;
        const info = await stat(layout.blob(digest)).catch(() => undefined);
        if (!info || info.mtimeMs > sweep.cutoff) continue;
        if (!sweep.dryRun && !(await sweep.removeIfOrphan(digest))) continue;
        objects++;
        bytes += info.size;
      }
    }
  }
  return { objects, bytes };
}

/** Bytes of the files in a directory tree. */
async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

function sorted(names: string[]): string[] {
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Upload ids as DataLayout accepts them; anything else in uploads/ is not ours to touch. */
function isUploadId(id: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(id) && !id.startsWith('.');
}
