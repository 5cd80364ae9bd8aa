import { BUCKET_PREFIXES, PARTITION_KEY, SORT_KEY } from './table-schema';

/**
 * The one description of how the registry is laid out in DynamoDB and S3 (table and
 * bucket shape: table-schema.ts). One table, keys `pk` / `sk` (strings), no secondary
 * indexes: every read below is a GetItem or Query on the base table, strongly consistent.
 *
 * DynamoDB items                      pk                             sk
 *   blob record                       BLOB#<digest>                  BLOB
 *     digest, size, location (S3 key), createdAt
 *   blob link (repo may serve/mount)  BLOB#<digest>                  LINK#<repo>
 *   repository (catalog entry)        CATALOG                        <repo>
 *   manifest                          REPO#<repo>                    MANIFEST#<digest>
 *     digest, mediaType, size, createdAt, subject?, artifactType?, annotations?,
 *     body (binary, when the item stays < ~350 KB) or bodyKey (S3 key), tagRev
 *   tag back-reference                REPO#<repo>                    MANIFEST#<digest>#TAG#<tag>
 *     "this manifest is tagged <tag>", so deleting a manifest finds its tags consistently
 *   tag                               TAGS#<repo>                    <tag>
 *     digest
 *   referrer                          REFERRERS#<repo>#<subject>     <digest>
 *     the referrers-index descriptor: mediaType, digest, size, artifactType?, annotations?
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
 *   manifests/<repo>/<alg>/<hex>      a manifest body too large for its item
 *
 * API call → storage operations
 *   POST   blobs/uploads/              S3 CreateMultipartUpload; DynamoDB PutItem session (if absent)
 *            ?mount=                  [Query BLOB#<digest> LINK#… when no from=]; GetItem link (source) +
 *                                     GetItem blob; PutItem link + PutItem catalog
 *   PATCH  blobs/uploads/<id>         GetItem session; PutItem session (if version matches) for the lease,
 *                                     after each part and at the end; S3 GetObject staged tail,
 *                                     UploadPart per part (≥ 5 MiB), PutObject new staged tail
 *   PUT    blobs/uploads/<id>?digest  as PATCH for a body, then GetItem blob (already stored? abort ours),
 *                                     S3 UploadPart (staged tail, if any),
 *                                     CompleteMultipartUpload (or PutObject + Abort for 0 bytes);
 *                                     PutItem blob (if absent); PutItem link + catalog; DeleteItem session;
 *                                     DeleteObject staged tail. No step depends on the blob's size.
 *   DELETE blobs/uploads/<id>         S3 AbortMultipartUpload, ListObjectsV2 + DeleteObjects staging/<id>/;
 *                                     DeleteItem session
 *   GET    blobs/<digest>             GetItem link + GetItem blob; presigned S3 GET URL (307) or GetObject
 *   HEAD   blobs/<digest>             GetItem link + GetItem blob
 *   DELETE blobs/<digest>             DeleteItem link
 *   PUT    manifests/<ref>            GetItem link + blob per layer; [S3 PutObject body if large];
 *                                     GetItem tag; TransactWriteItems: Update manifest, Put referrer,
 *                                     Put tag (if unchanged since read), Put/Delete back-references;
 *                                     PutItem catalog
 *   GET    manifests/<ref>            [GetItem tag]; GetItem manifest; [S3 GetObject body]
 *   DELETE manifests/<digest>         GetItem manifest; Query back-references; TransactWriteItems deleting
 *                                     tags (≤ 49 per transaction), then manifest + referrer (if no tag
 *                                     was added meanwhile: tagRev unchanged); [S3 DeleteObject body]
 *   DELETE manifests/<tag>            GetItem tag; TransactWriteItems: Delete tag (if unchanged) + back-reference
 *   GET    tags/list?n&last           GetItem catalog; Query TAGS#<repo>, sk > last, Limit n+1
 *   GET    _catalog?n&last            Query CATALOG, sk > last, Limit n+1
 *   GET    referrers/<digest>         Query REFERRERS#<repo>#<digest>
 *   Direct uploads (Nimbus extension, _nimbus/direct-uploads):
 *   POST   (start)                    GetItem link; S3 CreateMultipartUpload (no part checksums);
 *                                     PutItem session; presigned UploadPart URLs (no storage call)
 *   PUT    <id> (complete)            GetItem session; S3 CompleteMultipartUpload; PutItem session (verifying);
 *                                     PutItem session (attempt claimed); Lambda Invoke (Event) of the verifier;
 *                                     the verifier: GetItem session; S3 GetObject (streamed, hashed), then PutItem
 *                                     blob + link + catalog and PutItem session (verified), or DeleteObject (failed)
 *   GET    <id> (status)              GetItem session; past its verification deadline also PutItem session
 *                                     (attempt claimed) and Lambda Invoke again, or PutItem session (failed)
 */

type Key = { [PARTITION_KEY]: string; [SORT_KEY]: string };

function key(pk: string, sk: string): Key {
  return { [PARTITION_KEY]: pk, [SORT_KEY]: sk };
}

export const itemKeys = {
  blob: (digest: string) => key(`BLOB#${digest}`, 'BLOB'),
  blobLink: (digest: string, repository: string) => key(`BLOB#${digest}`, `LINK#${repository}`),
  blobLinksPartition: (digest: string) => `BLOB#${digest}`,
  blobLinkPrefix: 'LINK#',

  catalogPartition: 'CATALOG',
  repository: (repository: string) => key('CATALOG', repository),

  manifest: (repository: string, digest: string) => key(`REPO#${repository}`, `MANIFEST#${digest}`),
  manifestTag: (repository: string, digest: string, tag: string) => key(`REPO#${repository}`, `MANIFEST#${digest}#TAG#${tag}`),
  manifestTagPrefix: (digest: string) => `MANIFEST#${digest}#TAG#`,
  repositoryPartition: (repository: string) => `REPO#${repository}`,

  tagsPartition: (repository: string) => `TAGS#${repository}`,
  tag: (repository: string, tag: string) => key(`TAGS#${repository}`, tag),

  referrersPartition: (repository: string, subject: string) => `REFERRERS#${repository}#${subject}`,
  referrer: (repository: string, subject: string, digest: string) => key(`REFERRERS#${repository}#${subject}`, digest),

  upload: (id: string) => key(`UPLOAD#${id}`, 'UPLOAD'),
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
  manifestBody: (repository: string, digest: string) => `${BUCKET_PREFIXES.manifests}${repository}/${digest.replace(':', '/')}`,
};
