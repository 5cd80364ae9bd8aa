import { Limiter } from '../push/concurrency';
import { shortDigest } from '../push/progress';
import type { Exchange } from './http';
import { registryError, said } from './observation';
import type { DoctorSession } from './session';

/** Everything doctor created, so that it can remove it again. */
export class Ledger {
  /** Repository → blob digests linked there. */
  readonly blobs = new Map<string, Set<string>>();
  readonly manifests: Array<{ repository: string; digest: string; tag: string }> = [];
  /** Upload sessions opened and not completed, by path (the session), at their latest Location. */
  readonly sessions = new Map<string, URL>();

  addBlob(repository: string, digest: string): void {
    const digests = this.blobs.get(repository) ?? new Set();
    digests.add(digest);
    this.blobs.set(repository, digests);
  }

  /** Records an open session, or moves it to the Location its last answer gave. */
  openSession(location: URL): void {
    this.sessions.set(location.pathname, location);
  }

  closeSession(location: URL): void {
    this.sessions.delete(location.pathname);
  }
}

export interface CleanupReport {
  deleted: number;
  notDeleted: Array<{ what: string; why: string }>;
}

/**
 * Deletes what doctor pushed: tags and manifests first (a registry may refuse to delete a
 * blob a manifest still references), then blobs, then upload sessions left open by a
 * failed check. What cannot be deleted is reported, not treated as a failure.
 */
export async function cleanUp(session: DoctorSession, ledger: Ledger, uploadHostDown: boolean): Promise<CleanupReport> {
  const report: CleanupReport = { deleted: 0, notDeleted: [] };
  const remove = async (what: string, target: string | URL, expected: number[], repository?: string) => {
    const result = await session.send('DELETE', target);
    if (!result.failure && (expected.includes(result.status!) || result.status === 404)) report.deleted++;
    else report.notDeleted.push({ what, why: whyNot(result, session.login, repository) });
  };
  for (const { repository, digest, tag } of ledger.manifests) {
    await remove(`tag ${repository}:${tag}`, `/v2/${repository}/manifests/${tag}`, [202], repository);
    await remove(`manifest ${repository}@${shortDigest(digest)}`, `/v2/${repository}/manifests/${digest}`, [202], repository);
  }
  const limiter = new Limiter(4);
  // The mount's repository first: its blobs came from the scratch repository.
  for (const [repository, digests] of [...ledger.blobs].reverse()) {
    await Promise.all([...digests].map((digest) => limiter.run(() => remove(`blob ${shortDigest(digest)} in ${repository}`, `/v2/${repository}/blobs/${digest}`, [202], repository))));
  }
  for (const location of ledger.sessions.values()) {
    const what = `upload session ${location.pathname.split('/').at(-1)}`;
    if (uploadHostDown && !session.onRegistryHost(location)) report.notDeleted.push({ what, why: 'the upload endpoint is down; the registry sweeps the session when its TTL runs out' });
    else await remove(what, location, [204]);
  }
  return report;
}

function whyNot(result: Exchange, login: string | undefined, repository = 'REPOSITORY'): string {
  if (result.failure) return `${result.failure.code}: ${result.failure.message}`;
  const code = registryError(result)?.code;
  if (result.status === 401 || result.status === 403) {
    return `${result.status}: ${login ?? 'anonymous'} may not delete there; give it delete (npx nimbus grant ${login ?? 'USER'} '${repository}' pull,push,delete) or remove it yourself`;
  }
  if (result.status === 405 || code === 'UNSUPPORTED') return `${result.status}: the registry does not delete this (${said(result)})`;
  return `${result.status}: ${said(result)}`;
}
