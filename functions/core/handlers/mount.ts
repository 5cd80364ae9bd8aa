import { tryParseDigest } from '../digest';
import { isRepositoryName } from '../names';
import type { RequestContext } from '../context';
import { linkStoredBlob } from '../keyed-lock';

/**
 * Links an existing blob into `repository` when the caller may read it elsewhere: from
 * `from` when given, else from any repository that links it. Returns the digest mounted,
 * or undefined (then the caller uploads the bytes).
 */
export async function tryMount(ctx: RequestContext, repository: string, mountParam: string, from: string | null): Promise<string | undefined> {
  const digest = tryParseDigest(mountParam);
  if (!digest) return undefined; // not mountable: fall back to a fresh upload, as the spec allows
  const { metadata, authorizer } = ctx.services;
  if (await metadata.isBlobLinked(repository, digest.value)) return digest.value;
  const candidates = from !== null
    ? (isRepositoryName(from) ? [from] : [])
    : await metadata.blobRepositories(digest.value, 25);
  for (const source of candidates) {
    if (!(await authorizer.can(ctx.principal, source, 'pull'))) continue;
    if (!(await metadata.isBlobLinked(source, digest.value))) continue;
    // Under the blob's lock (stores that share bytes with the collector), and a link the store
    // refuses because garbage collection deleted the blob since the check: the client uploads it.
    const linked = await linkStoredBlob(ctx.services.blobLocks, metadata, repository, digest.value);
    return linked ? digest.value : undefined;
  }
  return undefined;
}
