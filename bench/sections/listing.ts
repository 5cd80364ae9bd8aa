import { awsEmulators, inProcessAwsRegistry, IN_PROCESS_BASE, selfCpuMs } from '../lib/aws';
import type { FetchLike } from '../lib/blob-upload';
import { populate, repositoryName, tagName, TAGS_REPOSITORY } from '../lib/populate';
import { availableRegistries } from '../lib/registry-runs';
import { REGISTRY_LABELS, startRegistry } from '../lib/servers';
import { firstLine, type BenchContext, type Section, type Table } from '../lib/section';
import { formatMs, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';

const SCALES = { small: 10, large: 10_000 } as const;
type Scale = keyof typeof SCALES;
const PAGE = 10;
const REQUESTS_PER_BATCH = 25;

interface Target {
  store: string;
  label: string;
  scale: Scale;
  fetch: FetchLike;
  base: string;
  cpuMs(): number;
  stop(): Promise<void>;
}

interface Query {
  id: 'tags-first' | 'tags-middle' | 'catalog-first' | 'catalog-middle';
  path(count: number): string;
}

const QUERIES: Query[] = [
  { id: 'tags-first', path: () => `/v2/${TAGS_REPOSITORY}/tags/list?n=${PAGE}` },
  { id: 'tags-middle', path: (count) => `/v2/${TAGS_REPOSITORY}/tags/list?n=${PAGE}&last=${tagName(count / 2)}` },
  { id: 'catalog-first', path: () => `/v2/_catalog?n=${PAGE}` },
  { id: 'catalog-middle', path: (count) => `/v2/_catalog?n=${PAGE}&last=${encodeURIComponent(repositoryName(count / 2 - 1))}` },
];

interface QueryStats {
  latencyMs: Summary;
  cpuPerRequestMs: Summary;
  /** Entries in the answer: more than the page size means the server ignored `n`. */
  entries: number;
}

export interface ListingStore {
  label: string;
  populateMs: Record<Scale, number>;
  queries: Record<Scale, Record<Query['id'], QueryStats>>;
  tags: { ratio: number };
  catalog: { ratio: number };
}

export interface ListingData {
  stores: Record<string, ListingStore>;
}

async function httpTargets(ctx: BenchContext, kinds: readonly ('nimbus' | 'distribution')[]): Promise<Target[]> {
  const targets: Target[] = [];
  for (const kind of kinds) {
    for (const scale of Object.keys(SCALES) as Scale[]) {
      const server = await startRegistry(kind, ctx.repoRoot);
      targets.push({
        store: kind === 'nimbus' ? 'fs' : kind, label: REGISTRY_LABELS[kind], scale,
        fetch: (request) => fetch(request), base: server.url, cpuMs: () => server.cpuMs(), stop: () => server.stop(),
      });
    }
  }
  return targets;
}

async function awsTargets(ctx: BenchContext): Promise<Target[]> {
  const emulators = await awsEmulators(ctx);
  const targets: Target[] = [];
  for (const scale of Object.keys(SCALES) as Scale[]) {
    const aws = await inProcessAwsRegistry(emulators, ctx.log);
    targets.push({
      store: 'aws', label: 'Nimbus, DynamoDB (DynamoDB Local, in process)', scale,
      fetch: aws.registry.fetch, base: IN_PROCESS_BASE, cpuMs: selfCpuMs, stop: async () => undefined,
    });
  }
  return targets;
}

async function measureBatch(target: Target, path: string): Promise<{ latencies: number[]; cpuPerRequestMs: number; entries: number }> {
  const latencies: number[] = [];
  let entries = 0;
  const cpuBefore = target.cpuMs();
  for (let i = 0; i < REQUESTS_PER_BATCH; i++) {
    const started = performance.now();
    const response = await target.fetch(new Request(`${target.base}${path}`));
    const body = (await response.json()) as { tags?: string[]; repositories?: string[] };
    latencies.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`${target.label} ${path}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
    entries = (body.tags ?? body.repositories ?? []).length;
  }
  return { latencies, cpuPerRequestMs: (target.cpuMs() - cpuBefore) / REQUESTS_PER_BATCH, entries };
}

/**
 * Section 5: one page (n=10) of tags/list and of _catalog, first and middle page, with 10
 * and with 10,000 entries. Flat means a page costs the same however long the list is.
 */
export const listing: Section = {
  id: 'listing',
  title: 'Listing: tags/list and _catalog pages at 10 and 10,000 entries',
  summary: 'latency of one page (n=10) of tags/list and _catalog with 10 vs 10,000 entries: Nimbus on disk, registry:2, Nimbus on DynamoDB Local',
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    const notes = [...missing];
    const targets = await httpTargets(ctx, kinds);
    try {
      try {
        targets.push(...(await awsTargets(ctx)));
      } catch (error) {
        notes.push(`DynamoDB store not available: ${firstLine(error)}`);
      }
      const populateMs = new Map<Target, number>();
      for (const target of targets) {
        ctx.log(`listing: filling ${target.label} with ${SCALES[target.scale]} tags and repositories`);
        const started = performance.now();
        await populate(target.fetch, target.base, { tags: SCALES[target.scale], repositories: SCALES[target.scale] });
        populateMs.set(target, performance.now() - started);
      }
      const samples = new Map<Target, Map<Query['id'], { latencies: number[]; cpu: number[]; entries: number }>>();
      for (let run = 0; run < ctx.runs; run++) {
        ctx.log(`listing: round ${run + 1}/${ctx.runs}`);
        for (const target of targets) {
          const perQuery = samples.get(target) ?? new Map();
          samples.set(target, perQuery);
          for (const query of QUERIES) {
            const batch = await measureBatch(target, query.path(SCALES[target.scale]));
            const sample = perQuery.get(query.id) ?? { latencies: [], cpu: [], entries: 0 };
            sample.latencies.push(...batch.latencies);
            sample.cpu.push(batch.cpuPerRequestMs);
            sample.entries = batch.entries;
            perQuery.set(query.id, sample);
          }
        }
      }
      const data = collect(targets, samples, populateMs);
      notes.push(
        `Each figure pools ${REQUESTS_PER_BATCH} sequential requests per round over ${ctx.runs} rounds, every target in turn each round. "middle" asks for the page after the 5,000th entry (?last=).`,
        `CPU per request: the registry process's CPU over a batch ÷ its ${REQUESTS_PER_BATCH} requests, so in steps of 10 ms ÷ ${REQUESTS_PER_BATCH} = ${(10 / REQUESTS_PER_BATCH).toFixed(1)} ms (for the in-process DynamoDB store, this process's CPU, SDK included, the emulator excluded).`,
        'The ratio takes the worse of first and middle page.',
      );
      return { tables: listingTables(data), notes, data: data as unknown as Record<string, unknown> };
    } finally {
      for (const target of targets) await target.stop();
    }
  },
};

function collect(
  targets: Target[],
  samples: Map<Target, Map<Query['id'], { latencies: number[]; cpu: number[]; entries: number }>>,
  populateMs: Map<Target, number>,
): ListingData {
  const data: ListingData = { stores: {} };
  for (const target of targets) {
    const store = (data.stores[target.store] ??= {
      label: target.label, populateMs: { small: 0, large: 0 }, queries: { small: {}, large: {} } as ListingStore['queries'],
      tags: { ratio: Number.NaN }, catalog: { ratio: Number.NaN },
    });
    store.populateMs[target.scale] = populateMs.get(target) ?? Number.NaN;
    for (const [id, sample] of samples.get(target) ?? []) {
      store.queries[target.scale][id] = { latencyMs: summarize(sample.latencies), cpuPerRequestMs: summarize(sample.cpu), entries: sample.entries };
    }
  }
  for (const store of Object.values(data.stores)) {
    const worse = (a: Query['id'], b: Query['id']) => Math.max(pageRatio(store, a), pageRatio(store, b));
    store.tags.ratio = worse('tags-first', 'tags-middle');
    store.catalog.ratio = worse('catalog-first', 'catalog-middle');
  }
  return data;
}

function pageRatio(store: ListingStore, id: Query['id']): number {
  return ratio(store.queries.large[id]?.latencyMs.median, store.queries.small[id]?.latencyMs.median);
}

function listingTables(data: ListingData): Table[] {
  const rows: string[][] = [];
  for (const store of Object.values(data.stores)) {
    for (const query of QUERIES) {
      const small = store.queries.small[query.id];
      const large = store.queries.large[query.id];
      if (!small || !large) continue;
      rows.push([
        store.label, query.id.replace('-', ', ') + ' page',
        formatSummary(small.latencyMs), formatSummary(large.latencyMs), formatRatio(pageRatio(store, query.id)),
        `${formatMs(small.cpuPerRequestMs.median)} / ${formatMs(large.cpuPerRequestMs.median)}`,
        large.entries > PAGE ? `${large.entries} (ignores n)` : String(large.entries),
      ]);
    }
  }
  return [{
    title: `One page (n=${PAGE}) at 10 and at 10,000 entries: latency median (min–max)`,
    columns: ['store', 'request', 'at 10', 'at 10,000', '10,000 ÷ 10', 'CPU per request (10 / 10,000)', 'entries returned at 10,000'],
    rows,
  }];
}
