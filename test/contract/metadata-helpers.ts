import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { ManifestRecord, ManifestReferences, MetadataStore, UploadSession } from '../../functions/core/index';
import { sha256 } from './blob-store.contract';

export const NO_REFERENCES: ManifestReferences = { blobs: [], manifests: [] };

export interface FakeManifestOptions {
  mediaType?: string;
  size?: number;
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A manifest record with random bytes: the store never parses bodies, so any bytes do. */
export function fakeManifest(options: FakeManifestOptions = {}): ManifestRecord {
  const padding = 'x'.repeat(Math.max(0, (options.size ?? 300) - 120));
  const body = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, nonce: randomBytes(8).toString('hex'), padding }));
  const record: ManifestRecord = {
    digest: sha256(body), mediaType: options.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', size: body.byteLength, body, createdAt: 1_700_000_000_000,
  };
  if (options.subject) record.subject = options.subject;
  if (options.artifactType) record.artifactType = options.artifactType;
  if (options.annotations) record.annotations = options.annotations;
  return record;
}

export function uploadSession(repository: string): UploadSession {
  return {
    id: crypto.randomUUID(), repository, handle: 'handle-1', offset: 0, parts: [], hashState: 'wasm:AAAA', hashAlgorithm: 'sha256',
    version: 0, createdAt: 1, updatedAt: 1, expiresAt: Math.floor(Date.now() / 1000) + 3600,
  };
}

export const uniqueName = (prefix = 'contract') => `${prefix}-${randomBytes(4).toString('hex')}/app`;

/** Stores a blob record and links it into `repository`, as a finished upload does. */
export async function linkedBlob(store: MetadataStore, repository: string): Promise<string> {
  const digest = sha256(randomBytes(16));
  await store.putBlob({ digest, size: 16, location: `loc-${digest.slice(7, 19)}`, createdAt: 1 });
  await store.linkBlob(repository, digest);
  return digest;
}

/** An image-like manifest using `blobs`, with those references. */
export function imageOf(blobs: string[]): { manifest: ManifestRecord; references: ManifestReferences } {
  return { manifest: fakeManifest(), references: { blobs, manifests: [] } };
}

/** An index listing `children`. */
export function indexOf(children: string[]): { manifest: ManifestRecord; references: ManifestReferences } {
  return { manifest: fakeManifest({ mediaType: 'application/vnd.oci.image.index.v1+json' }), references: { blobs: [], manifests: children } };
}

export async function allPages(next: (after?: string) => Promise<{ items: string[]; more: boolean }>, keep: (item: string) => boolean = () => true): Promise<string[]> {
  const all: string[] = [];
  let after: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await next(after);
    all.push(...page.items.filter(keep));
    if (!page.more || page.items.length === 0) return all;
    after = page.items.at(-1);
  }
  throw new Error('pagination did not terminate');
}

/**
 * Asserts the store invariants of ports.ts in `repository`: (I1) every listed tag resolves
 * to a manifest getManifest serves; (I2) every manifest it serves, among `known` (digest →
 * references it was stored with), has every blob linked with a record and every child stored.
 */
export async function expectInvariants(store: MetadataStore, repository: string, known: Map<string, ManifestReferences>): Promise<void> {
  const tags = await allPages((after) => store.listTags(repository, { limit: 100, ...(after ? { after } : {}) }));
  for (const tag of tags) {
    const digest = await store.resolveTag(repository, tag);
    expect(digest, `tag ${tag} is listed but does not resolve`).toBeTypeOf('string');
    expect(await store.getManifest(repository, digest!), `tag ${tag} is listed but its manifest ${digest} is not served`).toBeDefined();
  }
  for (const [digest, references] of known) {
    if (!(await store.getManifest(repository, digest))) continue;
    for (const blob of references.blobs) {
      expect(await store.isBlobLinked(repository, blob), `manifest ${digest} is served but its blob ${blob} is unlinked`).toBe(true);
      expect(await store.getBlob(blob), `manifest ${digest} is served but its blob ${blob} has no record`).toBeDefined();
    }
    for (const child of references.manifests) {
      expect(await store.getManifest(repository, child), `index ${digest} is served but its child ${child} is not`).toBeDefined();
    }
  }
}

/**
 * Starts two writers of round `index` so that, across rounds, they overlap at every stage of
 * the slower one: together in even rounds; in odd rounds the second starts 1–24 ms later
 * (a store taking several round trips per write otherwise only ever races at its start).
 * The outcome is awaited, never timed.
 */
export async function race<A, B>(index: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]> {
  const delay = index % 2 === 0 ? 0 : 1 + ((index >> 1) % 24);
  const delayed = delay === 0 ? second() : new Promise<void>((resolve) => setTimeout(resolve, delay)).then(second);
  return Promise.allSettled([first(), delayed]) as Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]>;
}

/** The value of a settled writer that must have succeeded. */
export function fulfilled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Runs `rounds` independent rounds, `parallel` at a time (each round is itself a race). */
export async function inRounds(rounds: number, parallel: number, round: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < rounds) await round(next++);
  }));
}
