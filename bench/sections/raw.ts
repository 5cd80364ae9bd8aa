import { MiB } from '../../harness/oci-image';
import { mkdir, rm } from 'node:fs/promises';
import { startHttpSink, startMinimalReceiver, timeSha256, timeWriteFsync } from '../lib/floor-probes';
import { processCpuMs } from '../lib/proc';
import { pushImage, rawBlob, RawClient, MANIFEST_TYPE, type RawBlob } from '../lib/raw-client';
import { availableRegistries, interleaved, timed } from '../lib/registry-runs';
import { REGISTRY_LABELS, type RegistryKind } from '../lib/servers';
import type { Section, Table } from '../lib/section';
import { formatBytes, formatMs, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';

const GiB = 1024 * MiB;
/** Parallel image: 4 layers pushed and pulled at once, each as one streamed PATCH / GET. */
const LAYERS = 4;
const LAYER_BYTES = 128 * MiB;
/** The large PATCH: one blob, one request, chunked as docker sends it. */
const LARGE_BYTES = 512 * MiB;

interface RawRun {
  pushMs: number;
  pullMs: number;
  pushCpuMs: number;
  pullCpuMs: number;
  largePatchMs: number;
  largeCpuMs: number;
  /** This process's CPU (the client) during the parallel push. */
  clientPushCpuMs: number;
}

export interface RawRegistryStats {
  pushMs: Summary;
  pullMs: Summary;
  /** Server CPU per GiB moved, ms. */
  pushCpuPerGiBMs: Summary;
  pullCpuPerGiBMs: Summary;
  clientPushCpuPerGiBMs: Summary;
  largePatchMs: Summary;
  largeCpuPerGiBMs: Summary;
}

export interface RawData {
  parallelBytes: number;
  largeBytes: number;
  /** sha256 + write with fsync + loopback HTTP of the large blob, medians summed. */
  largeFloorMs: number;
  floorParts: { sha256Ms: Summary; writeFsyncMs: Summary; httpMs: Summary };
  registries: Partial<Record<RegistryKind, RawRegistryStats>>;
  /** workers/minimal-receiver.ts: the same pushes into hash + write + fsync and nothing else. */
  minimal: { pushCpuPerGiBMs: Summary; largePatchMs: Summary; largeCpuPerGiBMs: Summary };
}

/**
 * Section `raw`: the registries measured with a client that is not the bottleneck (node:http,
 * bodies from one shared buffer, responses counted and dropped). A 4-layer image pushed and
 * pulled with every blob in parallel, then one large blob as a single streamed PATCH, whose
 * wall time is set against the physical floor measured in the same run.
 */
export const raw: Section = {
  id: 'raw',
  title: 'Raw HTTP client: parallel push and pull, one large streamed PATCH',
  summary: `node:http pusher/puller: ${LAYERS} × ${LAYER_BYTES / MiB} MiB layers in parallel, and one ${LARGE_BYTES / MiB} MiB streamed PATCH vs the floor`,
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    ctx.log('raw: preparing blobs');
    const config = rawBlob(512);
    const layers = Array.from({ length: LAYERS }, () => rawBlob(LAYER_BYTES));
    const large = rawBlob(LARGE_BYTES);
    const floor = await measureFloor(ctx.runs, await ctx.tmp('nimbus-bench-raw-floor-'), ctx.repoRoot, ctx.log);
    const results = await interleaved(kinds, ctx.runs, ctx.repoRoot, async (server, kind, run): Promise<RawRun> => {
      ctx.log(`raw → ${kind}, run ${run + 1}/${ctx.runs}`);
      const client = new RawClient(server.url, LAYERS + 2);
      try {
        const clientBefore = process.cpuUsage();
        const push = await timed(server, () => pushImage(client, 'bench/raw', 'latest', config, layers));
        const clientCpu = process.cpuUsage(clientBefore);
        const pull = await timed(server, async () => {
          const bytes = await client.pull('bench/raw', 'latest', MANIFEST_TYPE);
          if (bytes < LAYERS * LAYER_BYTES) throw new Error(`pulled ${bytes} bytes`);
        });
        let largePatchMs = 0;
        const largePush = await timed(server, async () => {
          largePatchMs = (await client.pushBlob('bench/raw-large', large)).patchMs;
        });
        return { pushMs: push.ms, pullMs: pull.ms, pushCpuMs: push.cpuMs, pullCpuMs: pull.cpuMs, largePatchMs, largeCpuMs: largePush.cpuMs,
          clientPushCpuMs: (clientCpu.user + clientCpu.system) / 1000,
        };
      } finally {
        client.close();
      }
    });
    const parallelBytes = LAYERS * LAYER_BYTES + config.size;
    const minimal = await measureMinimal(ctx.runs, await ctx.tmp('nimbus-bench-raw-minimal-'), ctx.repoRoot, ctx.log, config, layers, large);
    const data: RawData = {
      parallelBytes, largeBytes: LARGE_BYTES, largeFloorMs: floor.totalMs, floorParts: floor.parts,
      minimal: {
        pushCpuPerGiBMs: summarize(minimal.map((r) => (r.pushCpuMs * GiB) / parallelBytes)),
        largePatchMs: summarize(minimal.map((r) => r.largePatchMs)),
        largeCpuPerGiBMs: summarize(minimal.map((r) => (r.largeCpuMs * GiB) / LARGE_BYTES)),
      },
      registries: Object.fromEntries([...results].map(([kind, runs]) => [kind, rawStats(runs, parallelBytes)])),
    };
    return { tables: rawTables(data), notes: [...missing, ...rawNotes()], data: data as unknown as Record<string, unknown> };
  },
};

function rawStats(runs: RawRun[], parallelBytes: number): RawRegistryStats {
  const perGiB = (cpuMs: number, bytes: number) => (cpuMs * GiB) / bytes;
  return {
    pushMs: summarize(runs.map((r) => r.pushMs)),
    pullMs: summarize(runs.map((r) => r.pullMs)),
    pushCpuPerGiBMs: summarize(runs.map((r) => perGiB(r.pushCpuMs, parallelBytes))),
    pullCpuPerGiBMs: summarize(runs.map((r) => perGiB(r.pullCpuMs, parallelBytes))),
    clientPushCpuPerGiBMs: summarize(runs.map((r) => perGiB(r.clientPushCpuMs, parallelBytes))),
    largePatchMs: summarize(runs.map((r) => r.largePatchMs)),
    largeCpuPerGiBMs: summarize(runs.map((r) => perGiB(r.largeCpuMs, LARGE_BYTES))),
  };
}

/** The same pushes into the minimal receiver: a fresh one per run, on empty data. */
async function measureMinimal(
  runs: number, dir: string, repoRoot: string, log: (message: string) => void, config: RawBlob, layers: RawBlob[], large: RawBlob,
): Promise<{ pushCpuMs: number; largePatchMs: number; largeCpuMs: number }[]> {
  const results = [];
  for (let run = 0; run < runs; run++) {
    log(`raw → minimal node:http receiver, run ${run + 1}/${runs}`);
    const receiver = await startMinimalReceiver(repoRoot, dir);
    const client = new RawClient(receiver.url, LAYERS + 2);
    try {
      const cpu0 = processCpuMs(receiver.pid);
      await pushImage(client, 'bench/raw', 'latest', config, layers);
      const cpu1 = processCpuMs(receiver.pid);
      const { patchMs } = await client.pushBlob('bench/raw-large', large);
      results.push({ pushCpuMs: cpu1 - cpu0, largePatchMs: patchMs, largeCpuMs: processCpuMs(receiver.pid) - cpu1 });
    } finally {
      client.close();
      await receiver.stop();
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
    }
  }
  return results;
}

async function measureFloor(runs: number, dir: string, repoRoot: string, log: (message: string) => void) {
  const sink = await startHttpSink(repoRoot);
  const sha: number[] = [];
  const write: number[] = [];
  const http: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      log(`raw: floor of ${formatBytes(LARGE_BYTES)}, run ${run + 1}/${runs}`);
      sha.push(timeSha256(LARGE_BYTES));
      write.push(await timeWriteFsync(dir, LARGE_BYTES));
      http.push((await sink.send(LARGE_BYTES)).ms);
    }
  } finally {
    await sink.stop();
  }
  const parts = { sha256Ms: summarize(sha), writeFsyncMs: summarize(write), httpMs: summarize(http) };
  return { parts, totalMs: parts.sha256Ms.median + parts.writeFsyncMs.median + parts.httpMs.median };
}

function rawTables(data: RawData): Table[] {
  const nimbus = data.registries.nimbus;
  const distribution = data.registries.distribution;
  const entries = Object.entries(data.registries) as [RegistryKind, RawRegistryStats][];
  const parallel: Table = {
    title: `raw client, ${LAYERS} × ${formatBytes(LAYER_BYTES)} in parallel: wall time and server CPU per GiB, median (min–max)`,
    columns: ['registry', 'push', 'pull', 'CPU per GiB pushed', 'Nimbus ÷ registry:2', 'CPU per GiB pulled', 'Nimbus ÷ registry:2', 'client CPU per GiB pushed'],
    rows: entries.map(([kind, stats]) => [
      REGISTRY_LABELS[kind], formatSummary(stats.pushMs), formatSummary(stats.pullMs),
      formatSummary(stats.pushCpuPerGiBMs), kind === 'nimbus' ? formatRatio(ratio(nimbus?.pushCpuPerGiBMs.median, distribution?.pushCpuPerGiBMs.median)) : '',
      formatSummary(stats.pullCpuPerGiBMs), kind === 'nimbus' ? formatRatio(ratio(nimbus?.pullCpuPerGiBMs.median, distribution?.pullCpuPerGiBMs.median)) : '',
      formatSummary(stats.clientPushCpuPerGiBMs),
    ]),
  };
  parallel.rows.push([
    'minimal node:http receiver (hash + write + fsync only)', 'n/a', 'n/a', formatSummary(data.minimal.pushCpuPerGiBMs),
    formatRatio(ratio(data.minimal.pushCpuPerGiBMs.median, distribution?.pushCpuPerGiBMs.median)), 'n/a', '', '',
  ]);
  const large: Table = {
    title: `raw client, one streamed PATCH of ${formatBytes(data.largeBytes)}: wall time against the floor (${formatMs(data.largeFloorMs)} one way), median (min–max)`,
    columns: ['registry', 'PATCH wall', '÷ floor', 'server CPU per GiB (POST + PATCH + PUT)'],
    rows: entries.map(([kind, stats]) => [
      REGISTRY_LABELS[kind], formatSummary(stats.largePatchMs), formatRatio(ratio(stats.largePatchMs.median, data.largeFloorMs)), formatSummary(stats.largeCpuPerGiBMs),
    ]),
  };
  large.rows.push([
    'minimal node:http receiver (hash + write + fsync only)', formatSummary(data.minimal.largePatchMs),
    formatRatio(ratio(data.minimal.largePatchMs.median, data.largeFloorMs)), formatSummary(data.minimal.largeCpuPerGiBMs),
  ]);
  return [parallel, large];
}

function rawNotes(): string[] {
  return [
    'The client is node:http in the bench process: request bodies are written from one shared 1 MiB buffer (each blob unique by its first 32 bytes), chunked with no Content-Length as docker sends layers; pulled bodies are counted, not hashed. Its own CPU during the push (the last column, user + system of the bench process) shows it is not the bottleneck.',
    'Server CPU is user + system time of the registry process from /proc/<pid>/stat (10 ms ticks), per GiB of blob bytes moved.',
    'The floor of the large PATCH is sha256 (node:crypto) + write with fsync + loopback HTTP to a discarding receiver of the same bytes, medians summed, measured in this section before the registries run.',
    'The minimal receiver (bench/workers/minimal-receiver.ts) hashes and writes each PATCH body (1 MiB writev batches, one datasync) and renames the file on PUT: no sessions, checkpoints or web streams. Its CPU per GiB is what node:http, sha256 and the page cache cost on this machine; its ratio column is against registry:2.',
    'Nimbus runs with its defaults (NIMBUS_FSYNC=on); registry:2 with the registry:2 image\'s configuration (no fsync).',
  ];
}

