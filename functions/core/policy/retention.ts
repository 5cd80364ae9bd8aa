import * as z from 'zod/mini';
import { problemCheck } from '../validation';
import { parsePolicy } from './documents';
import { patternMatches, repositoryPatternProblem, tagMatches, tagPatternProblem } from './patterns';
import type { ManifestInfo, TagInfo } from './ports';

/**
 * Retention policies (as ECR lifecycle policies and zot retention): which tags and untagged
 * manifests a retention run deletes. Semantics, exactly:
 *
 * - A repository is governed by the FIRST rule (document order) whose `repositories`
 *   pattern matches it; later rules are ignored for it. A repository no rule matches is
 *   never touched. Put specific patterns before general ones (`team/app` before `**`).
 * - Tags matching any of `keepTags` (globs such as `v*`, or `/regex/`) are always kept, and
 *   do not count toward `keepLast`.
 * - `keepLast: N`: of the other tags, the N most recently pushed are kept (push time, ties by
 *   tag name); older ones expire.
 * - `notPulledForDays: D`: a tag (not in keepTags) expires when neither pulled nor pushed in the
 *   last D days. With keepLast too, a tag expires when EITHER criterion says so.
 * - Without keepLast and notPulledForDays, no tag expires.
 * - `untaggedOlderThanDays: D`: a manifest with no tag (including one whose last tags expire in
 *   this run) that was first stored more than D days ago is deleted, unless an index that stays
 *   lists it, or it is a referrer (has a subject) whose subject stays. An index goes before
 *   its children, a subject before its referrers.
 * - Tag expiry deletes the tag only; its manifest goes in the same run only under
 *   untaggedOlderThanDays. Deleted manifests' blobs are freed by garbage collection later.
 *
 * Times are compared to the run's clock: "older than D days" means before now − D × 24 h.
 */
const DAY_MS = 24 * 60 * 60 * 1000;

const repositoryPattern = z.string().check(problemCheck(repositoryPatternProblem));
const tagPattern = z.string().check(problemCheck(tagPatternProblem));
const days = z.int().check(z.minimum(0), z.maximum(36_500));

const retentionRule = z.strictObject({
  repositories: repositoryPattern,
  keepLast: z.optional(z.int().check(z.minimum(0), z.maximum(100_000))),
  keepTags: z.optional(z.array(tagPattern).check(z.maxLength(100))),
  untaggedOlderThanDays: z.optional(days),
  notPulledForDays: z.optional(days),
});

export const retentionSchema = z.strictObject({
  version: z.optional(z.literal(1)),
  rules: z.array(retentionRule).check(z.maxLength(1000)),
});

export type RetentionRule = z.infer<typeof retentionRule>;
export type RetentionDocument = z.infer<typeof retentionSchema>;

export function parseRetention(input: unknown): RetentionDocument {
  return parsePolicy(retentionSchema, input, 'retention');
}

/** The rule governing a repository: the first whose pattern matches. */
export function ruleFor(document: RetentionDocument, repository: string): RetentionRule | undefined {
  return document.rules.find((rule) => patternMatches(rule.repositories, repository));
}

/** Everything retention looks at in one repository. */
export interface RepositoryState {
  readonly repository: string;
  readonly tags: readonly TagInfo[];
  readonly manifests: readonly ManifestInfo[];
}

export type DeletionReason = 'keepLast' | 'notPulled' | 'untagged';

export interface PlannedDeletion {
  readonly repository: string;
  /** Set for a tag deletion; absent for a manifest deletion. */
  readonly tag?: string;
  readonly digest: string;
  /** Bytes this deletion frees (once GC collects): the manifest and the blobs no survivor uses. */
  readonly bytes: number;
  readonly reason: DeletionReason;
}

/** The blobs whose sizes planRetention needs: those of manifests it deletes. */
export function blobsOfDeletions(states: readonly RepositoryState[], deletions: readonly PlannedDeletion[]): string[] {
  const wanted = new Set(deletions.filter((d) => d.tag === undefined).map((d) => `${d.repository}@${d.digest}`));
  const blobs = new Set<string>();
  for (const state of states) {
    for (const manifest of state.manifests) {
      if (wanted.has(`${state.repository}@${manifest.digest}`)) manifest.blobs.forEach((blob) => blobs.add(blob));
    }
  }
  return [...blobs];
}

/** The tags of one repository that expire under `rule`, with why. */
export function expiringTags(
  rule: RetentionRule, tags: readonly TagInfo[], now: number, isProtected: (tag: string) => boolean = () => false,
): Map<string, DeletionReason> {
  const expiring = new Map<string, DeletionReason>();
  const candidates = tags
    .filter((tag) => !isProtected(tag.tag) && !(rule.keepTags ?? []).some((pattern) => tagMatches(pattern, tag.tag)))
    .sort((a, b) => b.pushedAt - a.pushedAt || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  candidates.forEach((tag, index) => {
    if (rule.keepLast !== undefined && index >= rule.keepLast) expiring.set(tag.tag, 'keepLast');
    else if (rule.notPulledForDays !== undefined && Math.max(tag.pushedAt, tag.pulledAt ?? 0) < now - rule.notPulledForDays * DAY_MS) {
      expiring.set(tag.tag, 'notPulled');
    }
  });
  return expiring;
}

/**
 * Untagged manifests to delete, holders before what they hold (see the header): a manifest
 * goes once no surviving index lists it and its subject (if any) is gone. Linear: each
 * manifest is released once, when its last holder or its subject goes.
 */
function expiringManifests(rule: RetentionRule, state: RepositoryState, taggedAfter: Set<string>, now: number): ManifestInfo[] {
  if (rule.untaggedOlderThanDays === undefined) return [];
  const cutoff = now - rule.untaggedOlderThanDays * DAY_MS;
  const byDigest = new Map(state.manifests.map((m) => [m.digest, m]));
  const holders = new Map<string, number>();
  const referrers = new Map<string, ManifestInfo[]>();
  for (const manifest of state.manifests) {
    for (const child of manifest.children) holders.set(child, (holders.get(child) ?? 0) + 1);
    if (manifest.subject === undefined) continue;
    const list = referrers.get(manifest.subject) ?? [];
    list.push(manifest);
    referrers.set(manifest.subject, list);
  }
  const deleted = new Set<string>();
  const canGo = (m: ManifestInfo) => !deleted.has(m.digest) && !taggedAfter.has(m.digest) && m.createdAt < cutoff
    && (holders.get(m.digest) ?? 0) === 0 && !(m.subject !== undefined && byDigest.has(m.subject) && !deleted.has(m.subject));
  const queue = [...state.manifests].sort((a, b) => (a.digest < b.digest ? -1 : 1)).filter(canGo);
  const order: ManifestInfo[] = [];
  for (let index = 0; index < queue.length; index++) {
    const next = queue[index]!;
    if (!canGo(next)) continue;
    deleted.add(next.digest);
    order.push(next);
    for (const child of next.children) {
      holders.set(child, (holders.get(child) ?? 1) - 1);
      const released = byDigest.get(child);
      if (released && canGo(released)) queue.push(released);
    }
    for (const referrer of referrers.get(next.digest) ?? []) if (canGo(referrer)) queue.push(referrer);
  }
  return order;
}

/** Tags retention must never delete (immutable ones), like keepTags: they do not count toward keepLast. */
export type TagProtection = (repository: string, tag: string) => boolean;

/**
 * The exact deletion list of a retention run over `states` (every repository of the
 * registry, so blob sharing is seen), in the order to apply it. Pure: the same document,
 * state and clock give the same list, which is what makes a dry run honest.
 */
export function planRetention(
  document: RetentionDocument, states: readonly RepositoryState[], blobSizes: ReadonlyMap<string, number>, now: number,
  isProtected: TagProtection = () => false,
): PlannedDeletion[] {
  const tagDeletions: PlannedDeletion[] = [];
  const manifestDeletions: Array<{ repository: string; manifest: ManifestInfo }> = [];
  for (const state of [...states].sort((a, b) => (a.repository < b.repository ? -1 : 1))) {
    const rule = ruleFor(document, state.repository);
    if (!rule) continue;
    const expiring = expiringTags(rule, state.tags, now, (tag) => isProtected(state.repository, tag));
    const taggedAfter = new Set(state.tags.filter((tag) => !expiring.has(tag.tag)).map((tag) => tag.digest));
    for (const tag of [...state.tags].sort((a, b) => (a.tag < b.tag ? -1 : 1))) {
      const reason = expiring.get(tag.tag);
      if (reason) tagDeletions.push({ repository: state.repository, tag: tag.tag, digest: tag.digest, bytes: 0, reason });
    }
    for (const manifest of expiringManifests(rule, state, taggedAfter, now)) manifestDeletions.push({ repository: state.repository, manifest });
  }
  const gone = new Set(manifestDeletions.map(({ repository, manifest }) => `${repository}@${manifest.digest}`));
  const stillUsed = new Set<string>();
  for (const state of states) {
    for (const manifest of state.manifests) {
      if (!gone.has(`${state.repository}@${manifest.digest}`)) manifest.blobs.forEach((blob) => stillUsed.add(blob));
    }
  }
  const counted = new Set<string>();
  const manifests = manifestDeletions.map(({ repository, manifest }): PlannedDeletion => {
    let bytes = manifest.size;
    for (const blob of manifest.blobs) {
      if (stillUsed.has(blob) || counted.has(blob)) continue;
      counted.add(blob);
      bytes += blobSizes.get(blob) ?? 0;
    }
    return { repository, digest: manifest.digest, bytes, reason: 'untagged' };
  });
  return [...tagDeletions, ...manifests];
}
