import { RegistryError, StoreInUseError, StoreReferenceMissingError, StoreTagConflictError } from '../errors';
import { parseDigest, tryParseDigest, type Digest } from '../digest';
import { isTag } from '../names';
import { repositoryOf, type RequestContext } from '../context';
import type { ManifestRecord } from '../records';
import type { DeleteManifestOptions } from '../ports';
import { CONTENT_DIGEST_HEADER, SUBJECT_HEADER } from '../http/headers';
import { emptyResponse } from '../http/responses';
import { readBodyWithin } from '../http/body';
import { parseManifest } from '../manifest/parse';
import { inUse, missingReference, referencesOf, verifyReferences } from '../manifest/references';
import { immutableTagDenied, immutableRule, parseImmutability, type ImmutabilityDocument } from '../policy/immutability';
import { cloudEvent, EVENT_TYPES } from '../events/cloud-events';
import { recordChange } from '../events/services';

type Reference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

/** The reference of a PUT: one that is neither a digest nor a valid tag is the client's error (400). */
function parseReference(reference: string | undefined): Reference {
  const text = reference ?? '';
  if (text.includes(':')) return { kind: 'digest', digest: parseDigest(text, 'manifest digest') };
  if (!isTag(text)) {
    throw new RegistryError('MANIFEST_INVALID', `"${text.slice(0, 130)}" is neither a digest nor a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})`);
  }
  return { kind: 'tag', tag: text };
}

/**
 * The reference of a GET, HEAD or DELETE: one that is neither a digest we can verify nor a
 * valid tag names no manifest, so 404 MANIFEST_UNKNOWN (the conformance suite asks so).
 */
function lookupReference(repository: string, reference: string | undefined): Reference {
  const text = reference ?? '';
  const digest = tryParseDigest(text);
  if (digest) return { kind: 'digest', digest };
  if (isTag(text)) return { kind: 'tag', tag: text };
  throw unknownManifest(repository, text.slice(0, 130));
}

function unknownManifest(repository: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in ${repository}`, { detail: { reference } });
}

/** GET/HEAD /v2/<name>/manifests/<reference>: the exact bytes pushed, with their media type. */
export async function getManifest(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const reference = lookupReference(repository, ctx.params.reference);
  const { metadata, inventory, clock } = ctx.services;
  // By tag, a pull: its time is recorded (at most daily) for retention's notPulledForDays.
  const digest = reference.kind === 'digest'
    ? reference.digest.value
    : await (inventory ? inventory.resolvePulledTag(repository, reference.tag, clock.now()) : metadata.resolveTag(repository, reference.tag));
  const stored = digest ? await metadata.getManifest(repository, digest) : undefined;
  // A repository a cache rule covers: a miss (or a stale tag) is looked up upstream (core/cache/).
  const cached = ctx.services.cache
    ? await ctx.services.cache.manifest(ctx, repository, reference.kind === 'digest' ? { kind: 'digest', digest: reference.digest.value } : reference, stored)
    : undefined;
  const record = cached ?? stored;
  if (!record) throw unknownManifest(repository, ctx.params.reference ?? '');
  const etag = `"${record.digest}"`;
  const headers = {
    'Content-Type': record.mediaType,
    [CONTENT_DIGEST_HEADER]: record.digest,
    ETag: etag,
    'Content-Length': String(record.size),
  };
  if (ctx.request.headers.get('if-none-match') === etag) return emptyResponse(304, { ...headers, 'Content-Length': '0' });
  if (ctx.request.method === 'HEAD') return emptyResponse(200, headers);
  ctx.services.events?.pulls?.note(repository, record.digest, reference.kind === 'tag' ? reference.tag : undefined);
  return new Response(record.body as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

/**
 * PUT /v2/<name>/manifests/<reference>: validates the document, checks that everything
 * it references is in the repository, and stores it with its references, tag and referrer
 * entry (the store re-verifies the references atomically, so a racing delete cannot win).
 */
export async function putManifest(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const reference = parseReference(ctx.params.reference);
  await ctx.services.cache?.refusePush(repository);
  const { config, hashing, metadata, clock } = ctx.services;
  const body = await readBodyWithin(ctx.request, config.maxManifestBytes, 'manifest');
  const algorithm = reference.kind === 'digest' ? reference.digest.algorithm : 'sha256';
  const hasher = await hashing.oneShot(algorithm);
  hasher.update(body);
  const digest = `${algorithm}:${hasher.digest()}`;
  if (reference.kind === 'digest' && reference.digest.value !== digest) {
    throw new RegistryError('DIGEST_INVALID', `manifest body has digest ${digest}, not ${reference.digest.value}`, {
      detail: { expected: reference.digest.value, actual: digest },
    });
  }
  const parsed = parseManifest(body, ctx.request.headers.get('content-type'));
  const references = referencesOf(parsed);
  await verifyReferences(metadata, repository, parsed, references);

  const record: ManifestRecord = { digest, mediaType: parsed.mediaType, size: body.byteLength, body, createdAt: clock.now() };
  if (parsed.subject) record.subject = parsed.subject.digest;
  if (parsed.artifactType) record.artifactType = parsed.artifactType;
  if (parsed.annotations) record.annotations = parsed.annotations;
  const tag = reference.kind === 'tag' ? reference.tag : undefined;
  const locks = tag === undefined ? undefined : await immutability(ctx);
  const rule = tag === undefined ? undefined : immutableRule(locks, repository, tag);
  const pushed = cloudEvent(EVENT_TYPES.manifestPushed, {
    repository, digest, tag, mediaType: record.mediaType, size: record.size, actor: ctx.principal.subject,
  }, clock.now());
  // An immutable tag: the store refuses to move it, atomically with the tag write.
  const store = () => metadata.putManifest(repository, record, references, tag, rule ? { keepTag: true } : undefined);
  await recordChange(ctx.services.events, repository, [pushed], store).catch((error: unknown) => {
    if (error instanceof StoreTagConflictError && rule && locks) throw immutableTagDenied(locks, rule, repository, error.tag, 'overwrite');
    // Verified above, but unlinked or deleted since: the store refused atomically.
    throw error instanceof StoreReferenceMissingError ? missingReference(repository, error) : error;
  });

  const headers: Record<string, string> = { Location: `/v2/${repository}/manifests/${digest}`, [CONTENT_DIGEST_HEADER]: digest };
  if (parsed.subject) headers[SUBJECT_HEADER] = parsed.subject.digest;
  return emptyResponse(201, headers);
}

/** DELETE by digest removes the manifest and its tags; DELETE by tag only untags. */
export async function deleteManifest(ctx: RequestContext): Promise<Response> {
  const repository = repositoryOf(ctx);
  const reference = lookupReference(repository, ctx.params.reference);
  const { metadata } = ctx.services;
  const locks = await immutability(ctx);
  const protection = (tag: string) => immutableRule(locks, repository, tag);
  if (reference.kind === 'tag' && protection(reference.tag)) {
    // An immutable tag is never deleted: DENIED while it exists, and no delete races its creation.
    if ((await metadata.resolveTag(repository, reference.tag)) === undefined) throw unknownManifest(repository, reference.tag);
    throw immutableTagDenied(locks!, protection(reference.tag)!, repository, reference.tag, 'delete');
  }
  const options = locks && locks.rules.length > 0 ? { refuseTag: (tag: string) => protection(tag) !== undefined } : undefined;
  const removed = reference.kind === 'digest'
    ? await deleteByDigest(ctx, repository, reference.digest.value, options).catch((error: unknown) => {
      if (error instanceof StoreTagConflictError && locks) throw immutableTagDenied(locks, protection(error.tag)!, repository, error.tag, 'delete');
      throw error instanceof StoreInUseError ? inUse(repository, error) : error;
    })
    : await deleteTag(ctx, repository, reference.tag);
  if (!removed) throw unknownManifest(repository, ctx.params.reference ?? '');
  return emptyResponse(202);
}

function deleteByDigest(ctx: RequestContext, repository: string, digest: string, options: DeleteManifestOptions | undefined): Promise<boolean> {
  const { events, metadata, clock } = ctx.services;
  const deleted = cloudEvent(EVENT_TYPES.manifestDeleted, { repository, digest, actor: ctx.principal.subject, reason: 'request' }, clock.now());
  return recordChange(events, repository, [deleted], () => metadata.deleteManifest(repository, digest, options));
}

/** With webhooks, the event names the digest the tag pointed at, and only that tag is deleted. */
async function deleteTag(ctx: RequestContext, repository: string, tag: string): Promise<boolean> {
  const { events, metadata, clock } = ctx.services;
  if (!events) return metadata.deleteTag(repository, tag);
  const digest = await metadata.resolveTag(repository, tag);
  if (digest === undefined) return false;
  const deleted = cloudEvent(EVENT_TYPES.tagDeleted, { repository, tag, digest, actor: ctx.principal.subject, reason: 'request' }, clock.now());
  return recordChange(events, repository, [deleted], () => metadata.deleteTag(repository, tag, digest));
}

async function immutability(ctx: RequestContext): Promise<ImmutabilityDocument | undefined> {
  const stored = await ctx.services.policies?.get('immutability');
  return stored ? parseImmutability(stored.document) : undefined;
}
