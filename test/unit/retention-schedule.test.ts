import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LogLevel, MetadataStore } from '../../functions/core/index';
import type { PolicyInventory, PolicyKind, PolicyStore } from '../../functions/core/policy/ports';
import { planCurrentRetention, runRetention, RetentionOutOfTimeError, type RetentionDeps } from '../../functions/core/policy/runner';
import { runScheduledRetention } from '../../functions/core/policy/scheduled-run';
import { FIRST_RUN_AFTER_SECONDS, startRetentionLoop } from '../../functions/local/retention-loop';
import { helpText, readSettings, SettingsError } from '../../functions/local/settings';

/** Deps over an empty registry whose policy documents are `documents`; counts repository listings. */
function depsWith(documents: Partial<Record<PolicyKind, unknown>>, get?: PolicyStore['get']) {
  const listings = { count: 0 };
  const metadata = {
    listRepositories: async () => {
      listings.count++;
      return { items: [], more: false };
    },
  } as unknown as MetadataStore;
  const inventory = { listTagInfo: async () => [], listManifestInfo: async () => [], blobSizes: async () => new Map() } as unknown as PolicyInventory;
  const policies: PolicyStore = {
    get: get ?? (async (kind) => (documents[kind] === undefined ? undefined : { document: documents[kind], etag: '1' })),
    put: async () => '1',
  };
  const deps: RetentionDeps = { metadata, inventory, policies, clock: { now: () => Date.now() } };
  return { deps, listings };
}

function recordingLogger() {
  const lines: Array<{ level: LogLevel; message: string; fields?: Record<string, unknown> }> = [];
  return { lines, logger: { log: (level: LogLevel, message: string, fields?: Record<string, unknown>) => lines.push({ level, message, ...(fields ? { fields } : {}) }) } };
}

describe('NIMBUS_RETENTION_INTERVAL', () => {
  it('defaults to daily, takes 0 (off), refuses what is not whole seconds in range, and is listed by --help', () => {
    expect(readSettings({}).retentionIntervalSeconds).toBe(86400);
    expect(readSettings({ NIMBUS_RETENTION_INTERVAL: '0' }).retentionIntervalSeconds).toBe(0);
    expect(readSettings({ NIMBUS_RETENTION_INTERVAL: '1' }).retentionIntervalSeconds).toBe(1);
    for (const bad of ['-1', '1d', '1.5', '99999999']) {
      expect(() => readSettings({ NIMBUS_RETENTION_INTERVAL: bad }), bad).toThrow(SettingsError);
      expect(() => readSettings({ NIMBUS_RETENTION_INTERVAL: bad }), bad).toThrow('NIMBUS_RETENTION_INTERVAL');
    }
    expect(helpText()).toContain('NIMBUS_RETENTION_INTERVAL');
  });
});

describe('a retention run with no rules', () => {
  it('lists no repository when there is no document, an empty one, or only lifecycles of 0 days', async () => {
    const cases: Array<Partial<Record<PolicyKind, unknown>>> = [
      {},
      { retention: { version: 1, rules: [] } },
      { cache: { version: 1, rules: [{ prefix: 'dockerhub', upstream: 'https://registry-1.docker.io', expireUnpulledDays: 0 }] } },
    ];
    for (const documents of cases) {
      const { deps, listings } = depsWith(documents);
      expect(await planCurrentRetention(deps, Date.now())).toEqual({ plan: [], repositories: 0 });
      expect(listings.count, JSON.stringify(documents)).toBe(0);
    }
  });

  it('lists them as soon as a rule exists: an operator rule, or a cache rule with its default lifecycle', async () => {
    for (const documents of [
      { retention: { version: 1, rules: [{ repositories: '**', keepLast: 3 }] } },
      { cache: { version: 1, rules: [{ prefix: 'dockerhub', upstream: 'https://registry-1.docker.io' }] } },
    ]) {
      const { deps, listings } = depsWith(documents);
      await planCurrentRetention(deps, Date.now());
      expect(listings.count, JSON.stringify(documents)).toBe(1);
    }
  });

  it('logs a scheduled run that deleted nothing at debug only', async () => {
    const { lines, logger } = recordingLogger();
    await runScheduledRetention(depsWith({}).deps, logger);
    expect(lines).toEqual([expect.objectContaining({ level: 'debug', message: 'scheduled retention run' })]);
  });
});

describe('a retention run with a deadline (the AWS schedule\'s)', () => {
  const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
  function registryWithTwoTags(readsBeforeLate: number) {
    let reads = 0;
    const deleted: string[] = [];
    const metadata = {
      listRepositories: async () => ({ items: ['team/app'], more: false }),
      deleteTag: async (_repository: string, tag: string) => { deleted.push(tag); return true; },
    } as unknown as MetadataStore;
    const inventory = {
      listTagInfo: async () => [{ tag: 'v1', digest: digest(1), pushedAt: 1 }, { tag: 'v2', digest: digest(2), pushedAt: 2 }],
      listManifestInfo: async () => [1, 2].map((n) => ({ digest: digest(n), size: 10, createdAt: n, blobs: [], children: [] })),
      blobSizes: async () => new Map(),
    } as unknown as PolicyInventory;
    const policies: PolicyStore = {
      get: async (kind) => (kind === 'retention' ? { document: { version: 1, rules: [{ repositories: '**', keepLast: 1 }] }, etag: '1' } : undefined),
      put: async () => '1',
    };
    // Every reading of the clock counts; from the given one on, it reads past the deadline (100).
    const deps: RetentionDeps = { metadata, inventory, policies, clock: { now: () => (++reads > readsBeforeLate ? 200 : 0) } };
    return { deps, deleted };
  }

  it('deletes nothing and says so when the deadline passes while it lists', async () => {
    const { deps, deleted } = registryWithTwoTags(1);
    await expect(runRetention(deps, { dryRun: false, deadline: 100 })).rejects.toThrow(RetentionOutOfTimeError);
    expect(deleted).toEqual([]);
  });

  it('leaves the deletions after the deadline for the next run, reported as skipped', async () => {
    const late = registryWithTwoTags(2);
    const report = await runRetention(late.deps, { dryRun: false, deadline: 100 });
    expect(late.deleted).toEqual([]);
    expect(report.skipped.map((entry) => [entry.tag, entry.why])).toEqual([['v1', 'out of time; the next run goes on']]);
    const inTime = registryWithTwoTags(3);
    expect((await runRetention(inTime.deps, { dryRun: false, deadline: 100 })).tagsDeleted).toBe(1);
    expect(inTime.deleted).toEqual(['v1']);
  });
});

describe('the retention loop', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts no timer at 0', () => {
    vi.useFakeTimers();
    const stop = startRetentionLoop({ deps: depsWith({}).deps, intervalSeconds: 0, logger: recordingLogger().logger });
    expect(vi.getTimerCount()).toBe(0);
    stop();
  });

  it('runs 5 minutes after start, then every interval', async () => {
    vi.useFakeTimers();
    const reads = { count: 0 };
    const get: PolicyStore['get'] = async (kind) => {
      if (kind === 'retention') reads.count++;
      return undefined;
    };
    const stop = startRetentionLoop({ deps: depsWith({}, get).deps, intervalSeconds: 86400, logger: recordingLogger().logger });
    await vi.advanceTimersByTimeAsync((FIRST_RUN_AFTER_SECONDS - 1) * 1000);
    expect(reads.count).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reads.count).toBe(1);
    await vi.advanceTimersByTimeAsync(86_399_000);
    expect(reads.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reads.count).toBe(2);
    stop();
    await vi.advanceTimersByTimeAsync(3 * 86_400_000);
    expect(reads.count).toBe(2);
  });

  it('runs every interval, never two at once, logs a failure as a warning, retries on the next tick, and stops', async () => {
    vi.useFakeTimers();
    let release: (() => void) | undefined;
    let fail = false;
    const reads = { count: 0 };
    // Each run reads the three policy documents; the first read of a run decides how it goes.
    const get: PolicyStore['get'] = async (kind) => {
      if (kind !== 'retention') return undefined;
      reads.count++;
      if (fail) throw new Error('disk on fire');
      await new Promise<void>((resolve) => { release = resolve; });
      return undefined;
    };
    const { lines, logger } = recordingLogger();
    const stop = startRetentionLoop({ deps: depsWith({}, get).deps, intervalSeconds: 60, logger });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(reads.count).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(reads.count).toBe(1);
    // Still running: the next two ticks are skipped.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(reads.count).toBe(1);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(lines.map((line) => [line.level, line.message])).toEqual([['debug', 'scheduled retention run']]);
    fail = true;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads.count).toBe(2);
    expect(lines.at(-1)).toEqual(expect.objectContaining({ level: 'warn', message: 'scheduled retention run failed; the next one retries' }));
    fail = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reads.count).toBe(3);
    release!();
    stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(reads.count).toBe(3);
  });
});
