import { join } from 'node:path';

/**
 * The one description of the local storage layout under NIMBUS_DATA_DIR (default ./data).
 * How each kind of file is written (atomic.ts; "flushed" applies with NIMBUS_FSYNC=on):
 *  - metadata (meta/: blob records, links, manifests, tags, referrers, users, grants):
 *    written to tmp/, flushed, renamed into place, then its directory is flushed (once per
 *    directory per request), so a crash or a power loss leaves the old file or the new one,
 *    never half of one, and an answered write or delete stays done;
 *  - upload sessions (meta/uploads/): the same, but their directory is not flushed on each
 *    checkpoint (the upload's hot path): after a power loss an upload may resume from an
 *    earlier checkpoint, which GET on its URL reports;
 *  - upload data (uploads/<id>/data): written in place at its offsets, each part flushed
 *    before the session's checkpoint records it; bytes past the checkpoint are rewritten on
 *    resume and cut at completion, which renames the verified file to blobs/ and flushes
 *    the directories that changed;
 *  - keys (meta/secrets/): a temporary sibling (mode 0600), flushed, linked into place
 *    (never replaced, never half-written), directory flushed;
 *  - .lock: created exclusively (that is the lock), holding the server's pid and boot id;
 *    a lock whose pid is not alive, or from an earlier boot, is stale and taken over.
 *  - .url: the running server's URL (written after it listens, removed when it stops), so that
 *    `npx nimbus gc` asks that server instead of writing to a data dir it does not hold.
 *
 *   blobs/<alg>/<hh>/<hex>                          verified blob bytes, content-addressed, shared by all repositories
 *   uploads/<id>/data                               bytes of an unfinished upload, written at their offsets
 *   uploads/<id>/staged/<name>                      bytes held back from a part (unused by this store's streaming policy)
 *   meta/blobs/<alg>/<hh>/<hex>.json                blob record: size, location, time
 *   meta/blob-repos/<alg>/<hh>/<hex>/<repo-escaped> which repositories link a blob (mounts without ?from=); holds the
 *                                                   epoch ms it was last linked (empty from older versions: its mtime)
 *   meta/repositories/<name>/_links/<alg>/<hex>     the repository may serve this blob (empty file)
 *   meta/repositories/<name>/_manifests/<alg>/<hex>.json   manifest record (media type, subject, ..., the
 *                                                   blob and child-manifest digests it references)
 *   meta/repositories/<name>/_manifests/<alg>/<hex>.body   the manifest's exact bytes
 *   meta/repositories/<name>/_tags/<tag-escaped>    tag -> manifest digest (text)
 *   meta/repositories/<name>/_tag-times/<tag-escaped>.json   {digest, pushedAt, pulledAt?} (epoch ms) for
 *                                                   retention: written after the tag on each push of it, pulledAt
 *                                                   at most once a day on pulls by tag; ignored when its digest is
 *                                                   not the tag's (then the tag file's mtime is the push time)
 *   meta/repositories/<name>/_referrers/<alg>/<subject-hex>/<alg>-<hex>.json   a referrer's descriptor
 *   meta/repositories/<name>/_refs/blobs/<alg>/<hex>/<alg>-<holder-hex>       manifest <holder> uses blob <hex>
 *   meta/repositories/<name>/_refs/manifests/<alg>/<hex>/<alg>-<holder-hex>   index <holder> lists manifest <hex>
 *                                                   (empty files; written before the holder's record, removed
 *                                                   after it: one whose holder has no record is a crash's
 *                                                   leftover, ignored and removed under the repository lock)
 *   meta/uploads/<id>.json                          upload session (offset, parts, hash state, version, lease)
 *   meta/gc/blobs/<alg>/<hex>                       garbage collection review of a blob (text: epoch ms of the latest
 *                                                   change that queued it: record created, link removed, manifest
 *                                                   using it deleted); one per blob, so it is also when it was last
 *                                                   released. Written before the change it reviews (a crash leaves a
 *                                                   spurious review, never a missing one); removed when settled.
 *   meta/gc/referrers/<alg>/<subject-hex>/<repo-escaped>   review of the referrers of a manifest deleted from
 *                                                   <repo> (text: epoch ms), written before the manifest goes
 *   meta/policies/<retention|immutability>.json     {etag, document}: a policy document, replaced atomically
 *                                                   (compare-and-swap on etag under an in-process lock)
 *   meta/auth/                                      users, robots and grants (see the auth adapter)
 *   meta/webhooks/<id>.json                         a webhook (url, events, pattern, header names): webhook-store.ts
 *   meta/secrets/webhooks/<id>.json                 its signing secret and header values (mode 0600)
 *   meta/events/journal/<uuid>.json                 a change's events, written before the change: outbox.ts
 *   meta/events/outbox/<seq>.json                   an event and its delivery state per webhook
 *   tmp/                                            files being written; anything here after a crash is garbage
 *
 * <name> may hold "/" (team/app/api); "_"-prefixed directories cannot collide with it, since
 * name components start with [a-z0-9]. Tags are case-sensitive but some filesystems are not,
 * so an upper-case letter X is stored as "^x".
 */
export class DataLayout {
  constructor(readonly root: string) {}

  get tmp(): string {
    return join(this.root, 'tmp');
  }

  blob(digest: string): string {
    return join(this.root, 'blobs', ...spread(digest));
  }
  /** A blob location as stored in records: relative to the root, so the data dir can move. */
  blobLocation(digest: string): string {
    return ['blobs', ...spread(digest)].join('/');
  }
  resolveLocation(location: string): string {
    if (!/^blobs\/[a-z0-9]+\/[a-f0-9]{2}\/[a-f0-9]+$/.test(location)) throw new Error(`not a blob location: ${location}`);
    return join(this.root, location);
  }

  upload(id: string): string {
    return join(this.root, 'uploads', safeId(id));
  }
  uploadData(id: string): string {
    return join(this.upload(id), 'data');
  }
  staged(id: string, name: string): string {
    return join(this.upload(id), 'staged', safeId(name));
  }
  get uploadsRoot(): string {
    return join(this.root, 'uploads');
  }

  blobRecord(digest: string): string {
    const [alg, hh, hex] = spread(digest);
    return join(this.root, 'meta', 'blobs', alg, hh, `${hex}.json`);
  }
  blobRepos(digest: string): string {
    return join(this.root, 'meta', 'blob-repos', ...spread(digest));
  }
  get repositoriesRoot(): string {
    return join(this.root, 'meta', 'repositories');
  }
  repository(name: string): string {
    return join(this.repositoriesRoot, ...name.split('/'));
  }
  link(name: string, digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.repository(name), '_links', alg, hex);
  }
  manifestRecord(name: string, digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.repository(name), '_manifests', alg, `${hex}.json`);
  }
  manifestBody(name: string, digest: string): string {
    const [alg, hex] = digest.split(':') as [string, string];
    return join(this.repository(name), '_manifests', alg, `${hex}.body`);
  }
  tags(name: string): string {
    return join(this.repository(name), '_tags');
  }
  tag(name: string, tag: string): string {
    return join(this.tags(name), escapeTag(tag));
  }
  tagTimes(name: string, tag: string): string {
    return join(this.repository(name), '_tag-times', `${escapeTag(tag)}.json`);
  }
  policy(kind: 'retention' | 'immutability' | 'cache'): string {
    return join(this.root, 'meta', 'policies', `${kind}.json`);
  }
  referrers(name: string, subject: string): string {
    const [alg, hex] = subject.split(':') as [string, string];
    return join(this.repository(name), '_referrers', alg, hex);
  }
  referrer(name: string, subject: string, digest: string): string {
    return join(this.referrers(name, subject), `${digest.replace(':', '-')}.json`);
  }
  /** Directory of the manifests using a blob (kind 'blobs') or listing a manifest ('manifests'). */
  references(name: string, kind: 'blobs' | 'manifests', target: string): string {
    const [alg, , hex] = spread(target);
    return join(this.repository(name), '_refs', kind, alg, hex);
  }
  reference(name: string, kind: 'blobs' | 'manifests', target: string, holder: string): string {
    return join(this.references(name, kind, target), holderFile(holder));
  }
  get uploadSessionsRoot(): string {
    return join(this.root, 'meta', 'uploads');
  }
  uploadSession(id: string): string {
    return join(this.uploadSessionsRoot, `${safeId(id)}.json`);
  }
  get blobsRoot(): string {
    return join(this.root, 'blobs');
  }
  get blobRecordsRoot(): string {
    return join(this.root, 'meta', 'blobs');
  }
  get gcBlobReviewsRoot(): string {
    return join(this.root, 'meta', 'gc', 'blobs');
  }
  gcBlobReview(digest: string): string {
    const [alg, , hex] = spread(digest);
    return join(this.gcBlobReviewsRoot, alg, hex);
  }
  get gcReferrersReviewsRoot(): string {
    return join(this.root, 'meta', 'gc', 'referrers');
  }
  gcReferrersReview(repository: string, subject: string): string {
    const [alg, , hex] = spread(subject);
    return join(this.gcReferrersReviewsRoot, alg, hex, escapeRepository(repository));
  }
  get authRoot(): string {
    return join(this.root, 'meta', 'auth');
  }
}

/** "sha256:abcd..." → ["sha256", "ab", "abcd..."] */
function spread(digest: string): [string, string, string] {
  const [alg, hex] = digest.split(':') as [string, string];
  if (!/^[a-z0-9]+$/.test(alg) || !/^[a-f0-9]{64,128}$/.test(hex)) throw new Error(`not a digest: ${digest}`);
  return [alg, hex.slice(0, 2), hex];
}

function safeId(id: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(id) || id.startsWith('.')) throw new Error(`unsafe id: ${id}`);
  return id;
}

/** "sha256:abcd..." ↔ "sha256-abcd...", a digest as a file name. */
export function holderFile(digest: string): string {
  spread(digest);
  return digest.replace(':', '-');
}

export function holderOfFile(file: string): string {
  return file.replace('-', ':');
}

export function escapeTag(tag: string): string {
  return tag.replace(/[A-Z]/g, (c) => `^${c.toLowerCase()}`);
}

export function unescapeTag(file: string): string {
  return file.replace(/\^([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function escapeRepository(name: string): string {
  return name.replaceAll('/', '%2F');
}

export function unescapeRepository(file: string): string {
  return file.replaceAll('%2F', '/');
}
