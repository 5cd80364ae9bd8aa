import type { PeakRss } from './peak-rss';
import type { Table } from './section';
import { formatBytes, formatRatio, formatSummary, ratio, summarize, type Summary } from './stats';

export type LaneId = 'raw-sequential' | 'raw-parallel' | 'endpoint-patch' | 'endpoint-skopeo' | 'lambda-chunks' | 'direct';

/** One timed upload and the peak RSS of each process during it, by label. */
export interface LaneRun {
  bytes: number;
  ms: number;
  rss: Record<string, PeakRss>;
  /** RSS of the upload endpoint once started, before any upload (lane 1 only). */
  endpointIdleBytes?: number;
  /** Bytes per PATCH: the OCI-Chunk-Max-Length the registry advertised (lane 2 only). */
  chunkBytes?: number;
}

export const LANES: Record<LaneId, { lane: string; client: (data: LanesData) => string }> = {
  'raw-sequential': { lane: 'raw: S3-emulator multipart', client: (data) => `AWS SDK UploadPart, ${formatBytes(data.partSize)} parts, 1 at a time` },
  'raw-parallel': { lane: 'raw: S3-emulator multipart', client: (data) => `AWS SDK UploadPart, ${formatBytes(data.partSize)} parts, ${data.parallel} at a time` },
  'endpoint-patch': { lane: '1: upload endpoint', client: () => 'one streamed PATCH, no Content-Length (as docker sends a layer)' },
  'endpoint-skopeo': { lane: '1: upload endpoint', client: () => 'skopeo copy (real client)' },
  'lambda-chunks': { lane: '2: Lambda path', client: (data) => `PATCHes of ${formatBytes(data.lanes['lambda-chunks']?.runs[0]?.chunkBytes ?? Number.NaN)} (OCI-Chunk-Max-Length) through the gateway` },
  direct: { lane: '3: direct to S3', client: (data) => `nimbus push (${data.parallel} parts at a time, background verification)` },
};

/** The processes each row of the RSS table names, in column order. */
const PROCESS_COLUMNS = [
  ['dev:aws', 'dev:aws (gateway + Lambda handler + verifier)'],
  ['upload endpoint', 'upload endpoint'],
  ['client', 'client (skopeo / nimbus CLI)'],
  ['fauxqs', 'fauxqs'],
  ['DynamoDB Local', 'DynamoDB Local'],
] as const;

export interface LaneStats {
  runs: LaneRun[];
  bytes: number;
  ms: Summary;
  /** 10^6 bytes per second, per run. */
  mbps: Summary;
  vsSequential: number;
  vsParallel: number;
  peakRssBytes: Record<string, Summary>;
}

export interface EndpointMemory {
  idleBytes: Summary;
  peakBytes: Summary;
  /** Largest peak − idle of any run: the bound must hold every time. */
  worstGrowthBytes: number;
}

export interface LanesData {
  partSize: number;
  parallel: number;
  constantBytes: number;
  /** 2 × part size + the constant: what the upload endpoint may add over idle for one upload. */
  boundBytes: number;
  lanes: Partial<Record<LaneId, LaneStats>>;
  uploadEndpoint: Partial<Record<LaneId, EndpointMemory>>;
  /** Whether every lane-1 run stayed within the bound (undefined: not measured). */
  withinBound: boolean | undefined;
}

const mbps = (run: LaneRun) => run.bytes / 1e6 / (run.ms / 1000);

export function summarizeLanes(runs: Record<LaneId, LaneRun[]>, settings: { partSize: number; parallel: number; constantBytes: number }): LanesData {
  const boundBytes = 2 * settings.partSize + settings.constantBytes;
  const data: LanesData = { ...settings, boundBytes, lanes: {}, uploadEndpoint: {}, withinBound: undefined };
  const rawSequential = summarize(runs['raw-sequential'].map(mbps)).median;
  const rawParallel = summarize(runs['raw-parallel'].map(mbps)).median;
  for (const [id, laneRuns] of Object.entries(runs) as [LaneId, LaneRun[]][]) {
    if (laneRuns.length === 0) continue;
    const speed = summarize(laneRuns.map(mbps));
    const labels = [...new Set(laneRuns.flatMap((run) => Object.keys(run.rss)))];
    data.lanes[id] = {
      runs: laneRuns,
      bytes: laneRuns[0]!.bytes,
      ms: summarize(laneRuns.map((run) => run.ms)),
      mbps: speed,
      vsSequential: ratio(speed.median, rawSequential),
      vsParallel: ratio(speed.median, rawParallel),
      peakRssBytes: Object.fromEntries(labels.map((label) => [label, summarize(laneRuns.map((run) => run.rss[label]?.peakBytes ?? Number.NaN).filter(Number.isFinite))])),
    };
    const endpointRuns = laneRuns.filter((run) => run.endpointIdleBytes !== undefined && run.rss['upload endpoint']);
    if (endpointRuns.length) {
      const growth = endpointRuns.map((run) => run.rss['upload endpoint']!.peakBytes - run.endpointIdleBytes!);
      data.uploadEndpoint[id] = {
        idleBytes: summarize(endpointRuns.map((run) => run.endpointIdleBytes!)),
        peakBytes: summarize(endpointRuns.map((run) => run.rss['upload endpoint']!.peakBytes)),
        worstGrowthBytes: Math.max(...growth),
      };
    }
  }
  const measured = Object.values(data.uploadEndpoint);
  if (measured.length) data.withinBound = measured.every((memory) => memory.worstGrowthBytes <= boundBytes);
  return data;
}

export function lanesTables(data: LanesData): Table[] {
  const boundText = `2 × ${formatBytes(data.partSize)} parts + ${formatBytes(data.constantBytes)} = ${formatBytes(data.boundBytes)}`;
  const endpointCell = (id: LaneId) => {
    const memory = data.uploadEndpoint[id];
    if (!memory) return '';
    return `${formatBytes(memory.worstGrowthBytes)}, ${memory.worstGrowthBytes <= data.boundBytes ? 'within' : 'OVER'} ${formatBytes(data.boundBytes)}`;
  };
  const entries = Object.entries(data.lanes) as [LaneId, LaneStats][];
  const headline: Table = {
    title: 'Upload lanes through dev:aws vs raw S3-emulator (fauxqs) multipart, MB/s median (min–max)',
    columns: ['lane', 'client', 'bytes', 'MB/s', '÷ raw, 1 part at a time', `÷ raw, ${data.parallel} parts at a time`, 'upload endpoint peak RSS − idle (worst run)'],
    rows: entries.map(([id, stats]) => [
      LANES[id].lane, LANES[id].client(data), formatBytes(stats.bytes), formatSummary(stats.mbps, (value) => value.toFixed(0)),
      formatRatio(stats.vsSequential), formatRatio(stats.vsParallel), endpointCell(id),
    ]),
  };
  const memory: Table = {
    title: 'Peak RSS of every process, per lane, median (min–max)',
    columns: ['lane', 'client', ...PROCESS_COLUMNS.map(([, title]) => title)],
    rows: entries.map(([id, stats]) => [
      LANES[id].lane, LANES[id].client(data),
      ...PROCESS_COLUMNS.map(([label]) => (stats.peakRssBytes[label]?.n ? formatSummary(stats.peakRssBytes[label], formatBytes) : '–')),
    ]),
  };
  const endpoint: Table = {
    title: 'Upload endpoint memory against its part buffers',
    columns: ['lane', 'client', 'idle RSS', 'peak RSS', 'peak − idle, worst run', `bound: ${boundText}`],
    rows: (Object.entries(data.uploadEndpoint) as [LaneId, EndpointMemory][]).map(([id, mem]) => [
      LANES[id].lane, LANES[id].client(data), formatSummary(mem.idleBytes, formatBytes), formatSummary(mem.peakBytes, formatBytes),
      formatBytes(mem.worstGrowthBytes), mem.worstGrowthBytes <= data.boundBytes ? 'within' : 'exceeded',
    ]),
  };
  return [headline, memory, endpoint];
}

export function lanesNotes(data: LanesData, imageLabel: string): string[] {
  const chunk = data.lanes['lambda-chunks']?.runs[0];
  return [
    `MB/s is 10^6 bytes per second of wall time, from the client's first request to its last answer (the CLI's: from spawning it to its exit). Lanes 1 and 3 and the raw floor move the bench's "${imageLabel}" image's bytes; lane 2 moves ${chunk ? `${formatBytes(chunk.bytes)}, one Lambda invocation per ${formatBytes(chunk.chunkBytes ?? Number.NaN)}` : 'fewer bytes'}.`,
    'Raw floor: the adapters\' own S3 client against fauxqs (CreateMultipartUpload, UploadPart, CompleteMultipartUpload), the same random part sent each time: no hashing, no metadata, no registry. Lanes 1 and 2 move one part at a time, lane 3 as many as nimbus push runs in parallel: read each against its column.',
    'Every run starts a fresh dev:aws (on a new table and bucket, dropped afterwards) once with the upload endpoint and once without; lane 3 runs on the one without, since direct uploads never touch the upload endpoint. The verifier runs inside the dev:aws process (as the stack\'s asynchronous Lambda), so its memory is dev:aws\'s.',
    'Lane 3 includes the CLI\'s start (tsx compiles it on load) and its polling for the verdict (500 ms, growing 1.5× per poll), as a user waits for them.',
    'Peak RSS: each long-running process\'s VmHWM is reset (/proc/<pid>/clear_refs) when a lane starts and read when it ends; client processes are found among the bench\'s children and their VmHWM is read every 200 ms. The upload endpoint\'s idle RSS is read once it has started, before any upload. fauxqs keeps every stored byte in memory (about twice the bytes uploaded), so its peak grows with the data, unlike the registry\'s processes.',
    `Bound: one upload in flight may hold two parts (one filling, one being sent) plus a constant for garbage not yet collected, module code loaded on first use and socket buffers: ${formatBytes(data.boundBytes)} here. All processes share this machine's 2 cores.`,
  ];
}
