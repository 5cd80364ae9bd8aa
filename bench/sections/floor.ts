import { IMAGE_SPECS } from '../lib/images';
import { startHttpSink, timeSha256, timeWriteFsync } from '../lib/floor-probes';
import type { Section } from '../lib/section';
import { formatBytes, formatMs, formatSummary, summarize, type Summary } from '../lib/stats';

export interface FloorSize {
  bytes: number;
  sha256Ms: Summary;
  writeFsyncMs: Summary;
  httpMs: Summary;
  /** One direction: the bytes cross loopback once, are hashed once and land on disk once. */
  oneWayFloorMs: number;
  /** Push + pull: twice that (the registry stores on push, the client on pull). */
  pushPullFloorMs: number;
}

export interface FloorData {
  sizes: Record<string, FloorSize>;
}

/** The big-layer images; the 100-layer image moves under 1 MiB, so its time is all per-request overhead. */
const SIZES = IMAGE_SPECS.filter((spec) => spec.layerSizes.length === 1).map((spec) => ({ id: spec.id, bytes: spec.layerSizes[0]! }));

/**
 * Section 2: the physical floor of a push + pull of the same bytes on this machine, in
 * the same run: sha256 of the bytes, writing them to disk with fsync, and moving them
 * over loopback HTTP to a receiver that discards them.
 */
export const floor: Section = {
  id: 'floor',
  title: 'Physical floor: sha256, disk write with fsync, loopback HTTP',
  summary: 'sha256, fsynced disk write and loopback HTTP transfer of 50 MiB and 500 MiB (push + pull floor = 2 × their sum)',
  async run(ctx) {
    const dir = await ctx.tmp('nimbus-bench-floor-');
    const sink = await startHttpSink(ctx.repoRoot);
    const data: FloorData = { sizes: {} };
    try {
      for (const { id, bytes } of SIZES) {
        const sha: number[] = [];
        const write: number[] = [];
        const http: number[] = [];
        for (let run = 0; run < ctx.runs; run++) {
          ctx.log(`floor ${formatBytes(bytes)}, run ${run + 1}/${ctx.runs}`);
          sha.push(timeSha256(bytes));
          write.push(await timeWriteFsync(dir, bytes));
          http.push((await sink.send(bytes)).ms);
        }
        const sizes = { sha256Ms: summarize(sha), writeFsyncMs: summarize(write), httpMs: summarize(http) };
        const oneWay = sizes.sha256Ms.median + sizes.writeFsyncMs.median + sizes.httpMs.median;
        data.sizes[id] = { bytes, ...sizes, oneWayFloorMs: oneWay, pushPullFloorMs: 2 * oneWay };
      }
    } finally {
      await sink.stop();
    }
    return {
      tables: [{
        title: 'Physical floor per direction, median (min–max)',
        columns: ['bytes', 'sha256', 'write + fsync', 'loopback HTTP', 'floor, one way', 'floor, push + pull'],
        rows: Object.values(data.sizes).map((size) => [
          formatBytes(size.bytes), formatSummary(size.sha256Ms), formatSummary(size.writeFsyncMs), formatSummary(size.httpMs),
          formatMs(size.oneWayFloorMs), formatMs(size.pushPullFloorMs),
        ]),
      }],
      notes: [
        'The floor is the sum of the medians, run one after another: a registry that overlaps hashing, writing and receiving could beat it, so it is a generous floor on 2 cores.',
        'Push + pull floor = 2 × (sha256 + write with fsync + loopback transfer): on push the registry receives, hashes and stores the bytes; on pull the client does.',
        'sha256 runs in this process with node:crypto; the disk write goes to the same file system as the registries\' data (os.tmpdir()); the HTTP receiver is a separate Node process that discards the body.',
      ],
      data: data as unknown as Record<string, unknown>,
    };
  },
};
