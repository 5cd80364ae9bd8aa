import { BUCKET_PREFIXES, PARTITION_KEY, SORT_KEY } from './table-schema';

/**
 * The one description of how the registry is laid out in DynamoDB and S3 (table and
 * bucket shape: table-schema.ts). One table, keys `pk` / `sk` (strings), no secondary
 * indexes: every read below is a GetItem or Query on the base table, strongly consistent.
 *
 * DynamoDB items                      pk                             sk
 *   blob record                       BLOB#<digest>                  BLOB
 *     digest, size, location (S3 key), createdAt, touchedAt? (last link),
 *     gcToken? (a collector's mark: it is about to delete the blob)
 *   blob link (repo may serve/mount)  BLOB#<digest>                  LINK#<repo>
 *     refs: how many blob references (below) in <repo> use the blob; at? (last linked or
 *     mounted), releasedAt? (last time a manifest released its reference)
 *   blob tombstone                    BLOB#<digest>                  COLLECTED
 *     at, expiresAt (TTL, 2 days): the blob was collected; linking it is refused meanwhile
 *   blob reference                    BLOB#<digest>                  REF#<repo>#<manifest>#<generation>
 *     holder (manifest digest), generation, at (epoch ms): "<manifest> in <repo> uses this blob"
 *   repository (catalog entry)        CATALOG                        <repo>
 *   manifest                          REPO#<repo>                    MANIFEST#<digest>
 *     digest, mediaType, size, createdAt, subject?, artifactType?, annotations?,
 *     body (binary, when the item stays < ~350 KB) or bodyKey (S3 key), tagRev, generation,
 *     refs: how many child references (below) count this manifest
 *   child reference                   REPO#<repo>                    MANIFEST#<child>#REF#<index>#<generation>
 *     holder, generation, at: "index <index> lists manifest <child>"
 *   reference list                    REPO#<repo>                    MANIFEST#<digest>#USES#<generation>#<nnnn>
 *     blobs, manifests: the digests a manifest's generation references (≤ 300 KB per item)
 *   tag back-reference                REPO#<repo>                    MANIFEST#<digest>#TAG#<tag>
 *     "this manifest is tagged <tag>", so deleting a manifest finds its tags consistently
 *   tag                               TAGS#<repo>                    <tag>
 *     digest, pushedAt (epoch ms, set with every push of the tag), pulledAt? (epoch ms of a pull
 *     by tag, rewritten at most once a day: tag-items.ts resolveForPull), for retention
 *   referrer                          REFERRERS#<repo>#<subject>     <digest>
 *     the referrers-index descriptor: mediaType, digest, size, artifactType?, annotations?
 *   gc review (queue, 16 shards)      GC#<first hex of digest>       <at, 15 digits>#<kind>#<digest>[#<repo>]
 *     kind (blob | referrers), digest, repository?, at: "this may have become garbage"
 *   policy document                   POLICY                         retention | immutability
 *     document (JSON text), version (number, the ETag; +1 per write, conditioned on If-Match)
 *   webhook                           WEBHOOKS                       <id>
 *     webhook (JSON: url, events, repositories, header names, createdAt): what `webhook list` shows
 *   webhook secret                    WEBHOOK#<id>                   SECRET
 *     secrets (JSON: HMAC key and header values), read only to deliver; never listed
 *   event journal                     EVENTS                         JOURNAL#<uuid>
 *     events (JSON), at: a change's events, written before the change (dynamo-outbox.ts)
 *   event sequence                    EVENTS                         SEQ
 *     seq (ADD 1 per outbox entry, atomic)
 *   outbox entry                      EVENTS                         ENTRY#<seq, 16 digits>
 *     entry (JSON: the CloudEvent and its delivery states), pending, repository, type,
 *     expiresAt (TTL, 14 days) once every delivery is finished
 *   open entry                        EVENTS                         OPEN#<seq, 16 digits>
 *     the entry's copy while a delivery is pending (deleted once all are finished), so a pass
 *     reads what is owed without reading the 14 days of history
 *   event marker                      EVENTS                         ID#<event id>
 *     seq: the event has its entry (written with it, conditioned on being absent)
 *   event order lease                 EVENTS                         ORDER#<repo>
 *     token, until, expiresAt (TTL): held from a change's journal to its entries, so changes
 *     of one repository made in different containers get their seq in the order they happened
 *   cache: root-mirror tag mark       CACHE#<repo>                   FILLED#<tag>
 *     "the root mirror filled this tag", so it rechecks and moves only tags it filled (core/cache/)
 *   cache: tag last checked upstream  CACHE#<repo>                   CHECKED#<tag>
 *     at (epoch ms), expiresAt (TTL, 7 days on): when to recheck a cached tag, across restarts
 *     and function instances (core/cache/); one put per recheck, read when an instance's own is stale
 *   cache: blob fill lease            CACHEFILL#<repo>@<digest>      LEASE
 *     until (epoch ms), expiresAt (TTL): one fill of the blob at a time across function instances
 *   upload session                    UPLOAD#<id>                    UPLOAD
 *     repository, handle, offset, parts (binary, part-codec.ts), tail?, hashState,
 *     hashAlgorithm, version, lease?, createdAt, updatedAt, expiresAt (TTL, epoch seconds),
 *     direct? (direct uploads: promised digest and size, part size, state, assembled location)
 *
 * Names and tags are ASCII, and DynamoDB orders sort keys by UTF-8 bytes, so Query order
 * is the spec's lexical order. `#` cannot occur in names, tags or digests. The catalog
 * is one partition; each process writes a repository's entry once (PutItem catalog below).
 * A session item holds at most 10,000 parts × 27 bytes ≈ 264 KiB of part list.
 *
 * S3 objects
 *   blobs/<upload-id>                 a blob: the multipart upload opened for the session,
 *                                     completed in place (never copied); the blob record's location
 *   staging/<upload-id>/<name>        a staged tail (< 5 MiB) until the next request folds it into a part
 *   manifests/<repo>/<alg>/<hex>.<generation>   a manifest body too large for its item
 *
 * API call → storage operations
 *   POST   blobs/uploads/              S3 CreateMultipartUpload; DynamoDB PutItem session (if absent)
 *            ?mount=                  [Query BLOB#<digest> LINK#… when no from=]; GetItem link (source) +
 *                                     GetItem blob; link (below; refused: an upload instead) + PutItem catalog
 *   PATCH  blobs/uploads/<id>         GetItem session; PutItem session (if version matches) for the lease,
 *                                     after each part and at the end; S3 GetObject staged tail (unless
 *                                     this container staged it: recent-tails.ts),
 *                                     UploadPart per part (≥ 5 MiB), PutObject new staged tail
 *   PUT    blobs/uploads/<id>?digest  as PATCH for a body, then GetItem blob, S3 UploadPart (staged tail, if any);
 *                                     not stored yet: CompleteMultipartUpload (or PutObject + Abort for 0 bytes),
 *                                     TransactWriteItems: Put blob (if absent) + Put gc review;
 *                                     then link (below), and only then drop ours if another copy is
 *                                     stored (AbortMultipartUpload, or DeleteObject if completed);
 *                                     a link refused by a tombstone stores ours instead (up to 3 rounds);
 *                                     PutItem catalog; DeleteItem session; DeleteObject staged tail.
 *                                     No step depends on the blob's size.
 *          link                       TransactWriteItems: Update blob (SET touchedAt REMOVE gcToken, if it
 *                                     exists) + Update link (SET at ADD refs 0); no record: TransactWriteItems
 *                                     ConditionCheck tombstone absent + ConditionCheck blob absent + Update link
 *   DELETE blobs/uploads/<id>         S3 AbortMultipartUpload, ListObjectsV2 + DeleteObjects staging/<id>/;
 *                                     DeleteItem session
 *   GET    blobs/<digest>             GetItem link + GetItem blob; presigned S3 GET URL (307) or GetObject
 *   HEAD   blobs/<digest>             GetItem link + GetItem blob
 *   DELETE blobs/<digest>             GetItem blob; TransactWriteItems: Delete link (if it exists and refs is 0)
 *                                     + Put gc review [+ Update blob SET touchedAt (if it exists)];
 *                                     refused: GetItem link, and Query BLOB#<digest> REF#<repo>#…
 *                                     (Limit 10) + BatchGetItem their manifests, to name one in the 405
 *   PUT    manifests/<ref>            BatchGetItem link + blob per distinct blob, manifest per child
 *                                     (100 keys a call, 8 calls at a time); GetItem manifest. Stored
 *                                     already: GetItem tag; TransactWriteItems: Update manifest tagRev (if it
 *                                     exists), Put tag (if unchanged since read), Put/Delete back-references.
 *                                     New: [S3 PutObject body if large]; GetItem tag; TransactWriteItems:
 *                                     Put manifest (if absent), Put reference list, per distinct reference
 *                                     Put reference + Update counter +1 (if the target exists), Put referrer,
 *                                     tag as above. Over 45 references: PutItem reference lists, then one
 *                                     TransactWriteItems per 50 references (8 at a time), then the rest.
 *                                     PutItem catalog
 *   GET    manifests/<ref>            [GetItem tag; UpdateItem tag pulledAt if a day old (if digest unchanged)];
 *                                     GetItem manifest; [S3 GetObject body]
 *   DELETE manifests/<digest>         GetItem manifest (refs > 0: Query …#REF# + BatchGetItem, 405);
 *                                     Query back-references; TransactWriteItems deleting tags (≤ 49 per
 *                                     transaction, while refs is 0); Query reference list; PutItem gc review
 *                                     per blob of the generation + one `referrers` review (8 at a time,
 *                                     before any release); TransactWriteItems:
 *                                     Delete manifest (if tagRev and generation unchanged and refs is 0),
 *                                     referrer, reference list, per reference Delete reference + Update
 *                                     counter −1 and, on blob links, SET releasedAt (over 45: these per 50
 *                                     after the manifest);
 *                                     [S3 DeleteObject body]
 *   DELETE manifests/<tag>            GetItem tag; TransactWriteItems: Delete tag (if unchanged) + back-reference
 *   (DELETE manifests/* also GetItem POLICY immutability; by digest, an immutable tag found among the
 *   back-references refuses the delete, and one added meanwhile bumps tagRev, so the retry sees it)
 *   PUT    manifests/<tag> (a tag already on this digest: UpdateItem tag pushedAt, if the digest is unchanged)
 *   PUT    manifests/<tag> (immutable tag, core/policy/immutability.ts): GetItem POLICY immutability; the
 *                                     tag Put is conditioned as above, and a tag found pointing elsewhere
 *                                     (read, or on the retry after a lost condition) refuses the push
 *   Retention (POST _nimbus/retention/run): Query CATALOG; per repository Query TAGS#<repo> and
 *                                     Query REPO#<repo> MANIFEST# (projected, no bodies); BatchGetItem blob
 *                                     sizes; then per deletion the DELETE paths above (a tag deleted only
 *                                     if unchanged, a manifest only while untagged)
 *   GET    tags/list?n&last           GetItem catalog; Query TAGS#<repo>, sk > last, Limit n+1
 *   GET    _catalog?n&last            Query CATALOG, sk > last, Limit n+1
 *   GET    referrers/<digest>         Query REFERRERS#<repo>#<digest>
 *   Direct uploads (Nimbus extension, _nimbus/direct-uploads):
 *   POST   (start)                    GetItem link; S3 CreateMultipartUpload (no part checksums);
 *                                     PutItem session; presigned UploadPart URLs (no storage call)
 *   PUT    <id> (complete)            GetItem session; S3 CompleteMultipartUpload; PutItem session (verifying);
 *                                     PutItem session (attempt claimed); Lambda Invoke (Event) of the verifier;
 *                                     the verifier: GetItem session; S3 GetObject (streamed, hashed), then put blob
 *                                     (as PUT above), link, and only then DeleteObject ours if another copy is
 *                                     stored (a refused link stores ours instead), PutItem catalog and session
 *                                     (verified); or DeleteObject (failed)
 *   GET    <id> (status)              GetItem session; past its verification deadline also PutItem session
 *                                     (attempt claimed) and Lambda Invoke again, or PutItem session (failed)
 *   Garbage collection (gc-store.ts; the scheduled GC function, `npx nimbus gc`):
 *     review queue              Query GC#0 … GC#f (sk ≤ cutoff, after the cursor), merged oldest first;
 *                               DeleteItem review when settled
 *     collect blob              GetItem blob; Query BLOB#<digest>; [reference items older than 15 min:
 *                               BatchGetItem their holders; per one whose holder is not stored with its
 *                               generation (a crash leak) TransactWriteItems releasing it as a delete does,
 *                               then Query again]; UpdateItem blob SET gcToken (if location
 *                               and mark unchanged); Query BLOB#<digest> again; TransactWriteItems: Delete
 *                               blob (if gcToken is ours) + Put tombstone + Delete each link (if refs is 0 and
 *                               at, releasedAt ≤ cutoff; over 97 links: batches first, each with a
 *                               ConditionCheck of the mark); then S3 DeleteObject location. Not garbage
 *                               after the mark, or a condition failed: UpdateItem blob REMOVE gcToken (if ours)
 *     full pass                 Scan (sk = BLOB, projected) for every digest, then collect each
 *     upload sweep              Scan (UPLOAD#…, expiresAt ≤ now, updatedAt ≤ cutoff); per expired session
 *                               S3 AbortMultipartUpload, ListObjectsV2 + DeleteObjects staging/<id>/,
 *                               DeleteItem session (if version unchanged); ListMultipartUploads blobs/ and
 *                               ListObjectsV2 staging/ for ids with no session (BatchGetItem), older than
 *                               the cutoff and 15 min: AbortMultipartUpload / DeleteObjects
 *     orphan sweep (full)       ListObjectsV2 blobs/ (older than the cutoff); BatchGetItem their sessions;
 *                               Scan blob records' locations; DeleteObjects what neither names
 *   Referrers of a deleted subject are deleted by the core (DELETE manifests/<digest> as above).
 *
 * Events: why an outbox journalled around the change, not the change's transaction or a stream
 *   A change that carries events (PUT/DELETE manifests, DELETE blobs, retention) goes:
 *     PutItem journal; the change as above; per event UpdateItem SEQ (ADD 1) + TransactWriteItems
 *     Put marker (if absent) + Put entry + Put open entry; DeleteItem journal. The events function (schedule
 *     and table stream on new entries, functions/lambda/events.ts): Query EVENTS JOURNAL#
 *     (older than 15 min: a crashed invocation's; GetItem manifest / tag / link to decide),
 *     Query EVENTS OPEN#, per delivery GetItem webhook secret + Query WEBHOOKS,
 *     EventBridge PutEvents, TransactWriteItems Put entry with its new state + Put (or Delete,
 *     when finished) open entry.
 *   Not in the change's TransactWriteItems: a push with over 45 references is several
 *   transactions, and the events come from the core, which knows the actor and the reason.
 *   Not a stream of the manifest and tag items: they are in two partitions (REPO#, TAGS#), so
 *   a stream would not order a repository's events, and images carry no actor or reason. The
 *   counter orders entries across Lambdas: a change made after another one committed gets a
 *   larger seq; the stream only wakes the function (which then reads the outbox in seq order).
 *
 * Garbage collection: why a push racing the collector never loses a blob (G1–G6): gc-collector.ts.
 * References: how the store keeps its invariants across Lambdas and crashes (I1, I2): reference-records.ts.
 */

type Key = { [PARTITION_KEY]: string; [SORT_KEY]: string };

const EVENT_ENTRY_PREFIX = 'ENTRY#';

function key(pk: string, sk: string): Key {
  return { [PARTITION_KEY]: pk, [SORT_KEY]: sk };
}

export const itemKeys = {
  blob: (digest: string) => key(`BLOB#${digest}`, 'BLOB'),
  blobTombstone: (digest: string) => key(`BLOB#${digest}`, 'COLLECTED'),
  blobLink: (digest: string, repository: string) => key(`BLOB#${digest}`, `LINK#${repository}`),
  blobLinksPartition: (digest: string) => `BLOB#${digest}`,
  blobLinkPrefix: 'LINK#',
  blobReference: (digest: string, repository: string, holder: string, generation: string) => key(`BLOB#${digest}`, `REF#${repository}#${holder}#${generation}`),
  blobReferencePrefix: (repository: string) => `REF#${repository}#`,

  catalogPartition: 'CATALOG',
  repository: (repository: string) => key('CATALOG', repository),

  manifest: (repository: string, digest: string) => key(`REPO#${repository}`, `MANIFEST#${digest}`),
  manifestTag: (repository: string, digest: string, tag: string) => key(`REPO#${repository}`, `MANIFEST#${digest}#TAG#${tag}`),
  manifestTagPrefix: (digest: string) => `MANIFEST#${digest}#TAG#`,
  childReference: (repository: string, child: string, holder: string, generation: string) =>
    key(`REPO#${repository}`, `MANIFEST#${child}#REF#${holder}#${generation}`),
  childReferencePrefix: (child: string) => `MANIFEST#${child}#REF#`,
  referenceList: (repository: string, holder: string, generation: string, index: number) =>
    key(`REPO#${repository}`, `MANIFEST#${holder}#USES#${generation}#${String(index).padStart(4, '0')}`),
  referenceListPrefix: (holder: string, generation: string) => `MANIFEST#${holder}#USES#${generation}#`,
  repositoryPartition: (repository: string) => `REPO#${repository}`,

  tagsPartition: (repository: string) => `TAGS#${repository}`,
  tag: (repository: string, tag: string) => key(`TAGS#${repository}`, tag),

  referrersPartition: (repository: string, subject: string) => `REFERRERS#${repository}#${subject}`,
  referrer: (repository: string, subject: string, digest: string) => key(`REFERRERS#${repository}#${subject}`, digest),

  upload: (id: string) => key(`UPLOAD#${id}`, 'UPLOAD'),

  cacheFilledTag: (repository: string, tag: string) => key(`CACHE#${repository}`, `FILLED#${tag}`),
  cacheCheckedTag: (repository: string, tag: string) => key(`CACHE#${repository}`, `CHECKED#${tag}`),
  cacheFillLease: (name: string) => key(`CACHEFILL#${name}`, 'LEASE'),

  gcReviewPrefix: 'GC#',
  gcReviewPartition: (shard: string) => `GC#${shard}`,
  policy: (kind: 'retention' | 'immutability' | 'cache') => key('POLICY', kind),

  webhooksPartition: 'WEBHOOKS',
  webhook: (id: string) => key('WEBHOOKS', id),
  /** Legacy: stacks deployed before Secrets Manager kept a webhook's secret here (read and deleted only). */
  webhookSecret: (id: string) => key(`WEBHOOK#${id}`, 'SECRET'),
  eventsPartition: 'EVENTS',
  eventSequence: key('EVENTS', 'SEQ'),
  eventOrderLease: (repository: string) => key('EVENTS', `ORDER#${repository}`),
  eventJournal: (id: string) => key('EVENTS', `JOURNAL#${id}`),
  eventJournalPrefix: 'JOURNAL#',
  eventCommitted: (eventId: string) => key('EVENTS', `ID#${eventId}`),
  eventEntry: (seq: number) => key('EVENTS', `${EVENT_ENTRY_PREFIX}${String(seq).padStart(16, '0')}`),
  eventEntryPrefix: EVENT_ENTRY_PREFIX,
  eventOpen: (seq: number) => key('EVENTS', `OPEN#${String(seq).padStart(16, '0')}`),
  eventOpenPrefix: 'OPEN#',
};

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;

function safeId(id: string, what: string): string {
  if (!SAFE_ID.test(id) || id.startsWith('.')) throw new Error(`unsafe ${what}: ${id.slice(0, 140)}`);
  return id;
}

export const objectKeys = {
  blob: (uploadId: string) => `${BUCKET_PREFIXES.blobs}${safeId(uploadId, 'upload id')}`,
  isBlob: (key: string) => key.startsWith(BUCKET_PREFIXES.blobs) && SAFE_ID.test(key.slice(BUCKET_PREFIXES.blobs.length)),
  stagingPrefix: (uploadId: string) => `${BUCKET_PREFIXES.staging}${safeId(uploadId, 'upload id')}/`,
  staged: (uploadId: string, name: string) => `${objectKeys.stagingPrefix(uploadId)}${safeId(name, 'staged name')}`,
  manifestBody: (repository: string, digest: string, generation: string) =>
    `${BUCKET_PREFIXES.manifests}${repository}/${digest.replace(':', '/')}.${safeId(generation, 'generation')}`,
};
