import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../functions/core/errors';
import { immutableRule, parseImmutability } from '../../functions/core/policy/immutability';
import { patternMatches, tagMatches } from '../../functions/core/policy/patterns';
import type { ManifestInfo } from '../../functions/core/policy/ports';
import { parseRetention, planRetention, type RepositoryState } from '../../functions/core/policy/retention';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_900_000_000_000;
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const manifest = (n: number, createdAt: number, extra: Partial<ManifestInfo> = {}): ManifestInfo => ({
  digest: digest(n), size: 100, createdAt, blobs: [], children: [], ...extra,
});

function problems(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('POLICY_INVALID');
    return (error as RegistryError).message;
  }
  throw new Error('parsed an invalid document');
}

describe('retention documents', () => {
  it('name what is wrong and where', () => {
    expect(problems(() => parseRetention({ rules: [{ repositories: '**', keepLast: 1.5 }] }))).toContain('rules[0].keepLast');
    expect(problems(() => parseRetention({ rules: [{ repositories: '**', keepTags: ['ok', '/(/'] }] }))).toContain('rules[0].keepTags[1]');
    expect(problems(() => parseRetention({ rules: [{ repositories: '**', keepLsat: 3 }] }))).toContain('keepLsat');
    expect(problems(() => parseRetention({}))).toContain('rules');
    expect(problems(() => parseImmutability({ rules: [{ id: 'a', repositories: '**' }, { id: 'a', repositories: 'x' }] }))).toContain('rules[1].id');
  });

  it('match repositories as grants do and tags as globs or /regex/', () => {
    expect(patternMatches('team/**', 'team/a/b')).toBe(true);
    expect(patternMatches('team/*', 'team/a/b')).toBe(false);
    expect(tagMatches('v1.*', 'v1.2')).toBe(true);
    expect(tagMatches('v1.*', 'v10')).toBe(false);
    expect(tagMatches('release-?', 'release-1')).toBe(true);
    expect(tagMatches('/^v[0-9]+$/', 'v12')).toBe(true);
    expect(tagMatches('/^v[0-9]+$/', 'v12-rc')).toBe(false);
    const locks = parseImmutability({ rules: [{ repositories: 'team/**', except: ['latest', 'dev-*'] }] });
    expect(immutableRule(locks, 'team/app', 'v1')).toBeDefined();
    expect(immutableRule(locks, 'team/app', 'latest')).toBeUndefined();
    expect(immutableRule(locks, 'other/app', 'v1')).toBeUndefined();
  });
});

describe('planRetention', () => {
  it('deletes an index with its old untagged children after it, and counts bytes no survivor uses once', () => {
    const child = manifest(1, NOW - 30 * DAY, { blobs: ['b-shared', 'b-own'] });
    const index = manifest(2, NOW - 30 * DAY, { children: [child.digest] });
    const survivor = manifest(3, NOW - DAY, { blobs: ['b-shared'] });
    const states: RepositoryState[] = [{ repository: 'a/app', tags: [], manifests: [child, index, survivor] }];
    const plan = planRetention(parseRetention({ rules: [{ repositories: '**', untaggedOlderThanDays: 7 }] }), states, new Map([['b-shared', 1000], ['b-own', 500]]), NOW);
    expect(plan.map((d) => d.digest)).toEqual([index.digest, child.digest]);
    expect(plan.map((d) => d.bytes)).toEqual([100, 600]);
  });

  it('keeps a young index and, through it, its old child', () => {
    const child = manifest(1, NOW - 30 * DAY);
    const index = manifest(2, NOW - DAY, { children: [child.digest] });
    const plan = planRetention(parseRetention({ rules: [{ repositories: '**', untaggedOlderThanDays: 7 }] }),
      [{ repository: 'a/app', tags: [], manifests: [child, index] }], new Map(), NOW);
    expect(plan).toEqual([]);
  });

  it('with keepLast and notPulledForDays, a tag expires when either says so; keepTags and protected tags never', () => {
    const tags = [
      { tag: 'new', digest: digest(1), pushedAt: NOW - DAY },
      { tag: 'idle', digest: digest(2), pushedAt: NOW - 2 * DAY, pulledAt: NOW - 2 * DAY },
      { tag: 'old-pulled', digest: digest(3), pushedAt: NOW - 50 * DAY, pulledAt: NOW - DAY },
      { tag: 'v1', digest: digest(4), pushedAt: NOW - 90 * DAY },
      { tag: 'locked', digest: digest(5), pushedAt: NOW - 90 * DAY },
    ];
    const document = parseRetention({ rules: [{ repositories: '**', keepLast: 2, notPulledForDays: 1, keepTags: ['v*'] }] });
    const plan = planRetention(document, [{ repository: 'r', tags, manifests: [] }], new Map(), NOW, (_repo, tag) => tag === 'locked');
    expect(plan.map((d) => [d.tag, d.reason])).toEqual([['idle', 'notPulled'], ['old-pulled', 'keepLast']]);
  });
});

describe('planRetention at scale', () => {
  it('plans a chain of 20,000 nested untagged indexes, outermost first', () => {
    const manifests: ManifestInfo[] = [];
    for (let n = 0; n < 20_000; n++) manifests.push(manifest(n + 1, NOW - 30 * DAY, n === 0 ? {} : { children: [digest(n)] }));
    const plan = planRetention(parseRetention({ rules: [{ repositories: '**', untaggedOlderThanDays: 1 }] }),
      [{ repository: 'r', tags: [], manifests }], new Map(), NOW);
    expect(plan).toHaveLength(20_000);
    expect(plan[0]!.digest).toBe(digest(20_000));
    expect(plan.at(-1)!.digest).toBe(digest(1));
  });
});
