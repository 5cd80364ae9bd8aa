import { lambdaEnvironment, runWorker } from '../lib/lambda-worker';
import type { Section } from '../lib/section';
import { formatBytes, formatMs, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';
import type { StorageCall } from '../workers/lambda-harness';

interface PatchSample {
  wallMs: number;
  cpuMs: number;
  rssBytes: number;
  calls: StorageCall[];
}

interface WorkerResult {
  initMs: number;
  rssAfterInit: number;
  peakRssBytes: number;
  patches: PatchSample[];
  commit: { wallMs: number; cpuMs: number };
  floorCpuMs: number[];
  floorWallMs: number[];
  stepCpuMs: Record<string, number[]>;
}

export interface LambdaData {
  /** CPU per 4 MiB PATCH, the first one (connections, lazy init) left out. */
  chunkCpuMs: Summary;
  chunkWallMs: Summary;
  firstChunkCpuMs: number;
  /** PATCHes that staged their bytes (too short for an S3 part) vs those that sent a part. */
  stagedCpuMs: Summary;
  partCpuMs: Summary;
  floorMs: Summary;
  floorWallMs: Summary;
  peakRssBytes: number;
  rssAfterInitBytes: number;
  ratio: number;
  raw: WorkerResult;
}

/**
 * Section 3: a 4 MiB PATCH through the real Lambda entry (API Gateway adapter, AWS adapters
 * against the emulators), in a process of its own: CPU, wall time and RSS per chunk,
 * against the floor of base64-decoding and hashing 4 MiB.
 */
export const lambdaChunk: Section = {
  id: 'lambda',
  title: 'Lambda path: one 4 MiB PATCH through API Gateway adapter + AWS adapters',
  summary: 'CPU ms and RSS of a 4 MiB PATCH through functions/lambda/registry.ts on the emulators, vs base64 decode + sha256 of 4 MiB',
  async run(ctx) {
    const environment = await lambdaEnvironment(ctx);
    let raw: WorkerResult;
    try {
      const chunks = Math.max(8, 2 * ctx.runs + 2);
      ctx.log(`lambda: ${chunks} PATCHes of 4 MiB through the Lambda entry`);
      raw = await runWorker<WorkerResult>(ctx, 'bench/workers/lambda-chunk.ts', environment.env, [String(chunks), String(Math.max(20, ctx.runs * 4))]);
    } finally {
      await environment.close();
    }
    const warm = raw.patches.slice(1);
    const staged = warm.filter((patch) => !patch.calls.some((call) => call.command === 'UploadPart'));
    const parts = warm.filter((patch) => patch.calls.some((call) => call.command === 'UploadPart'));
    const chunkCpuMs = summarize(warm.map((patch) => patch.cpuMs));
    const floorMs = summarize(raw.floorCpuMs);
    const data: LambdaData = {
      chunkCpuMs, chunkWallMs: summarize(warm.map((patch) => patch.wallMs)), firstChunkCpuMs: raw.patches[0]?.cpuMs ?? Number.NaN,
      stagedCpuMs: summarize(staged.map((patch) => patch.cpuMs)), partCpuMs: summarize(parts.map((patch) => patch.cpuMs)),
      floorMs, floorWallMs: summarize(raw.floorWallMs), peakRssBytes: raw.peakRssBytes, rssAfterInitBytes: raw.rssAfterInit,
      ratio: ratio(chunkCpuMs.median, floorMs.median), raw,
    };
    const callsOf = (patch: PatchSample | undefined) => patch?.calls.map((call) => call.command).join(', ') ?? '';
    return {
      tables: [{
        title: 'One 4 MiB PATCH in the Lambda function, median (min–max)',
        columns: ['measure', 'value', '÷ floor'],
        rows: [
          ['CPU per PATCH (all but the first)', formatSummary(data.chunkCpuMs), formatRatio(data.ratio)],
          [`… that staged its bytes (${callsOf(staged[0])})`, formatSummary(data.stagedCpuMs), formatRatio(ratio(data.stagedCpuMs.median, floorMs.median))],
          [`… that sent an S3 part (${callsOf(parts[0])})`, formatSummary(data.partCpuMs), formatRatio(ratio(data.partCpuMs.median, floorMs.median))],
          ['CPU of the first PATCH (connections, lazy init)', formatMs(data.firstChunkCpuMs), ''],
          ['wall time per PATCH, against the emulators', formatSummary(data.chunkWallMs), ''],
          ['floor: base64 decode + sha256 of 4 MiB (CPU)', formatSummary(floorMs), '1.00×'],
          ['RSS after init / peak RSS of the function process', `${formatBytes(data.rssAfterInitBytes)} / ${formatBytes(data.peakRssBytes)}`, ''],
        ],
      }, {
        title: 'Steps of a 4 MiB PATCH, each alone, CPU median (min–max)',
        columns: ['step (on 4 MiB)', 'CPU'],
        rows: Object.entries(raw.stepCpuMs).map(([name, values]) => [name, formatSummary(summarize(values))]),
      }],
      notes: [
        `The function runs in its own Node process (this machine's Node ${process.version}, x86-64; deployed: nodejs22.x on arm64). Each PATCH counts what the runtime does in the function's process: JSON.parse of the event (4 MiB body as base64), the handler, JSON.stringify of the result.`,
        'CPU is process.cpuUsage() (user + system, all threads, the AWS SDK included; the emulators run in other processes). The floor uses node:crypto (OpenSSL) sha256; the function hashes with hash-wasm, whose state survives between invocations.',
        'With 16 MiB S3 parts and a 5 MiB minimum, 4 MiB PATCHes alternate: one is staged as an S3 object, the next folds it into an 8 MiB part.',
        'Every PATCH here reaches the same function instance, which folds the tail it staged from memory (functions/adapters/aws/recent-tails.ts); a PATCH that reaches another instance reads the tail back first (one S3 GetObject of 4 MiB more).',
      ],
      data: data as unknown as Record<string, unknown>,
    };
  },
};
