import { awsEmulators } from '../lib/aws';
import { BLOBS_PER_MANIFEST, dynamoGcStore, fsGcStore, pool, populate, type GcBenchStore, type PopulatedManifest } from '../lib/gc-stores';
import { firstLine, type BenchContext, type Section, type Table } from '../lib/section';
import { formatMs, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';
import { runGc } from '../../functions/core/gc/runner';

const HOUR = 3_600_000;
/** The safety window the passes use; the clock jumps past it instead of waiting. */
const MIN_AGE_MS = HOUR;
/** The share of manifests (so of blobs: each blob is used by one manifest) deleted before each timed pass. */
const CHANGED_SHARE = 0.01;
/** Timed incremental passes per size, each after a fresh 1% was deleted; capped, since population dominates. */
const MAX_ROUNDS = 3;

interface StoreKind {
  id: 'fs' | 'aws';
  label: string;
  sizes: readonly [number, number];
  /** Writes in flight while populating. */
  width: number;
  open(ctx: BenchContext): Promise<GcBenchStore>;
}

const STORES: readonly StoreKind[] = [
  { id: 'fs', label: 'Nimbus on disk (fs store, fsync off)', sizes: [10_000, 100_000], width: 16, open: async (ctx) => fsGcStore(await ctx.tmp('nimbus-bench-gc-')) },
  {
    id: 'aws', label: 'Nimbus on DynamoDB Local + fauxqs', sizes: [1_000, 10_000], width: 32,
    open: async (ctx) => dynamoGcStore(await awsEmulators(ctx)),
  },
];

export interface GcSizeResult {
  blobs: number;
  populateMs: number;
  settleMs: number;
  /** Blobs unreferenced before each timed pass. */
  changed: number;
  reviewed: number[];
  deleted: number[];
  incrementalMs: Summary;
  /** Incremental pass time ÷ blobs changed. */
  perChangedMs: number;
  /** One dry upload sweep, the part of every pass that is not the review queue. */
  uploadSweepMs: number;
  fullMs: number;
  fullReviewed: number;
}

export interface GcStoreResult {
  label: string;
  sizes: GcSizeResult[];
  /** Incremental pass time, larger size ÷ smaller size (the changed blobs grow with it: 1% of each). */
  incrementalRatio: number;
  /** Incremental pass time per changed blob, larger ÷ smaller: flat (≈ 1) when a pass costs what changed. */
  perChangedRatio: number;
  fullRatio: number;
}

export interface GcData {
  stores: Record<string, GcStoreResult>;
}

async function deleteManifests(store: GcBenchStore, manifests: PopulatedManifest[], width: number): Promise<void> {
  await pool(manifests.length, width, async (i) => {
    const manifest = manifests[i]!;
    if (!(await store.metadata.deleteManifest(manifest.repository, manifest.digest))) throw new Error(`manifest ${manifest.digest} was not deleted`);
  });
}

/** Populates, settles the queue, then times incremental passes after 1% changes and one full pass. */
async function measureSize(ctx: BenchContext, kind: StoreKind, blobs: number): Promise<GcSizeResult> {
  const store = await kind.open(ctx);
  try {
    // The report's durationMs reads the store's clock, which stands still here: wall time is measured around the pass.
    const gc = async (full = false) => {
      const passStarted = performance.now();
      const report = await runGc({ gc: store.gc, metadata: store.metadata, clock: store.clock }, { minAgeMs: MIN_AGE_MS, full });
      return { ...report, durationMs: performance.now() - passStarted };
    };
    let step = 0;
    const started = performance.now();
    const manifests = await populate(store, blobs, kind.width, (done, total) => {
      if (done * 10 >= (step + 1) * total) ctx.log(`gc ${kind.id}: populated ${(++step) * 10}% of ${blobs.toLocaleString('en')} blobs (${formatMs(performance.now() - started)})`);
    });
    const populateMs = performance.now() - started;
    store.clock.advance(2 * MIN_AGE_MS);
    // The first pass reviews every new blob record (referenced: settled), so the queue is empty.
    const settle = await gc();
    ctx.log(`gc ${kind.id}: settled ${settle.reviewed} reviews in ${formatMs(settle.durationMs)}`);
    if (settle.blobsDeleted !== 0) throw new Error(`the settling pass deleted ${settle.blobsDeleted} referenced blobs`);
    const perRound = Math.max(1, Math.round(manifests.length * CHANGED_SHARE));
    const rounds = Math.min(ctx.runs, MAX_ROUNDS);
    const times: number[] = [];
    const reviewed: number[] = [];
    const deleted: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const dropped = manifests.slice(round * perRound, (round + 1) * perRound);
      await deleteManifests(store, dropped, kind.width);
      store.clock.advance(2 * MIN_AGE_MS);
      const pass = await gc();
      const expected = dropped.length * BLOBS_PER_MANIFEST;
      if (pass.blobsDeleted !== expected) throw new Error(`pass ${round + 1} deleted ${pass.blobsDeleted} blobs, expected ${expected}`);
      times.push(pass.durationMs);
      reviewed.push(pass.reviewed);
      deleted.push(pass.blobsDeleted);
      ctx.log(`gc ${kind.id} ${blobs.toLocaleString('en')}: incremental pass ${round + 1}/${rounds}: ${pass.reviewed} reviewed, ${pass.blobsDeleted} deleted, ${formatMs(pass.durationMs)}`);
    }
    // Every pass also sweeps abandoned uploads (an incremental one through what they hold in storage); timed alone (dry).
    const sweepStarted = performance.now();
    await store.gc.sweepUploads(store.clock.now() - MIN_AGE_MS - 1, true, false);
    const uploadSweepMs = performance.now() - sweepStarted;
    const full = await gc(true);
    ctx.log(`gc ${kind.id} ${blobs.toLocaleString('en')}: full pass ${formatMs(full.durationMs)}`);
    const incrementalMs = summarize(times);
    const changed = perRound * BLOBS_PER_MANIFEST;
    return {
      blobs, populateMs, settleMs: settle.durationMs, changed, reviewed, deleted, incrementalMs,
      perChangedMs: incrementalMs.median / changed, uploadSweepMs, fullMs: full.durationMs, fullReviewed: full.reviewed,
    };
  } finally {
    await store.cleanup();
  }
}

async function measureStore(ctx: BenchContext, kind: StoreKind): Promise<GcStoreResult> {
  const sizes: GcSizeResult[] = [];
  for (const blobs of kind.sizes) sizes.push(await measureSize(ctx, kind, blobs));
  const [small, large] = sizes as [GcSizeResult, GcSizeResult];
  return {
    label: kind.label, sizes,
    incrementalRatio: ratio(large.incrementalMs.median, small.incrementalMs.median),
    perChangedRatio: ratio(large.perChangedMs, small.perChangedMs),
    fullRatio: ratio(large.fullMs, small.fullMs),
  };
}

/**
 * Section: one GC pass at two sizes (10,000 and 100,000 blobs on disk; 1,000 and 10,000 on
 * DynamoDB Local) after 1% of the blobs became unreferenced. Incremental passes should cost
 * what changed: per changed blob, flat across sizes; a full pass walks everything.
 */
export const gc: Section = {
  id: 'gc',
  title: 'GC: an incremental pass at 10× the blobs, 1% of them changed',
  summary: 'time of an incremental GC pass after 1% of the blobs lost their manifest, at 10k and 100k blobs (fs) and 1k and 10k (DynamoDB Local), beside a full pass',
  async run(ctx) {
    const notes: string[] = [];
    const data: GcData = { stores: {} };
    for (const kind of STORES) {
      try {
        data.stores[kind.id] = await measureStore(ctx, kind);
      } catch (error) {
        if (kind.id === 'fs') throw error;
        notes.push(`${kind.label}: not measured: ${firstLine(error)}`);
      }
    }
    notes.push(
      `Each blob (a few dozen bytes) is used by one manifest of ${BLOBS_PER_MANIFEST} blobs, written through the stores' ports (not over HTTP). The clock is moved past the ${MIN_AGE_MS / HOUR} h safety window instead of waited for; a first pass settles the review queue every new blob record fills.`,
      `Then, per round (up to ${MAX_ROUNDS}, --runs), ${CHANGED_SHARE * 100}% of the manifests are deleted, so ${CHANGED_SHARE * 100}% of the blobs become unreferenced, and one incremental pass is timed; it must delete as many blobs as became unreferenced (the settling pass none). A full pass (mark and sweep of every blob, and the orphan sweep) follows, once.`,
      'Changed blobs are 1% of each size, so they grow 10× too: "per changed blob" is the figure that stays flat when a pass costs what changed; the full pass grows with the total.',
      '"of which upload sweep": one dry sweep of abandoned uploads, timed alone; every pass, incremental too, runs one (on DynamoDB it scans the table for expired sessions, so it grows with the table).',
      'DynamoDB Local runs at 1,000 and 10,000 blobs: populating 100,000 through it (one write per record and link, transactions per manifest) takes too long for a bench section.',
    );
    return { tables: gcTables(data), notes, data: data as unknown as Record<string, unknown> };
  },
};

function gcTables(data: GcData): Table[] {
  const rows: string[][] = [];
  for (const store of Object.values(data.stores)) {
    for (const size of store.sizes) {
      rows.push([
        store.label, size.blobs.toLocaleString('en'), size.changed.toLocaleString('en'),
        size.reviewed.join(', '), size.deleted.join(', '), formatSummary(size.incrementalMs),
        formatMs(size.perChangedMs), formatMs(size.uploadSweepMs), formatMs(size.fullMs), formatMs(size.populateMs),
      ]);
    }
    rows.push([
      store.label, 'ratio', '', '', '', formatRatio(store.incrementalRatio), formatRatio(store.perChangedRatio), '', formatRatio(store.fullRatio), '',
    ]);
  }
  return [{
    title: 'One GC pass after 1% of the blobs lost their manifest: incremental pass median (min–max), and a full pass',
    columns: ['store', 'blobs', 'changed', 'reviewed', 'deleted', 'incremental pass', 'per changed blob', 'of which upload sweep', 'full pass', 'populating'],
    rows,
  }];
}
