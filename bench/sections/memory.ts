import { setTimeout as sleep } from 'node:timers/promises';
import { MiB } from '../../harness/oci-image';
import { startMinimalReceiver } from '../lib/floor-probes';
import { processRssBytes, resetPeakRss } from '../lib/proc';
import { pushImage, rawBlob, RawClient, type RawBlob } from '../lib/raw-client';
import { availableRegistries, interleaved } from '../lib/registry-runs';
import { REGISTRY_LABELS, type RegistryKind, type RegistryServer } from '../lib/servers';
import type { Section, Table } from '../lib/section';
import { formatBytes, formatMs, formatRatio, formatSummary, ratio, summarize, type Summary } from '../lib/stats';

const CLIENTS = 50;
/** Each client pushes a blob of its own (one streamed PATCH) and pulls it back. */
const CLIENT_BLOB_BYTES = 8 * MiB;
/** Long enough for a server's start-up garbage to be collected and its heap to settle. */
const SETTLE_MS = 3000;

interface MemoryRun {
  idleAfterStartBytes: number;
  idleAfterPushBytes: number;
  peakUnderLoadBytes: number;
  loadMs: number;
}

export interface MemoryStats {
  idleAfterStartBytes: Summary;
  idleAfterPushBytes: Summary;
  peakUnderLoadBytes: Summary;
  loadMs: Summary;
}

export interface MemoryData {
  clients: number;
  clientBlobBytes: number;
  registries: Partial<Record<RegistryKind, MemoryStats>>;
  /** The floor of a Node server: the minimal receiver, idle after start and after the same push (it serves no pulls). */
  receiver?: { idleAfterStartBytes: Summary; idleAfterPushBytes: Summary };
}

/**
 * Section `memory`: resident memory of `npm start` and registry:2, idle after start, idle
 * after a push and pull, and the peak while 50 clients each push and pull a blob at once.
 */
export const memory: Section = {
  id: 'memory',
  title: 'Memory: idle RSS, and peak RSS under 50 concurrent clients',
  summary: `RSS idle after start and after a push, and peak RSS while ${CLIENTS} clients push and pull ${CLIENT_BLOB_BYTES / MiB} MiB each at once`,
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    const warmup = { config: rawBlob(300), layers: [rawBlob(16 * MiB)] };
    const clientBlobs = Array.from({ length: CLIENTS }, () => rawBlob(CLIENT_BLOB_BYTES));
    const results = await interleaved(kinds, ctx.runs, ctx.repoRoot, async (server, kind, run): Promise<MemoryRun> => {
      ctx.log(`memory → ${kind}, run ${run + 1}/${ctx.runs}`);
      await sleep(SETTLE_MS);
      const idleAfterStartBytes = processRssBytes(server.pid);
      const client = new RawClient(server.url, CLIENTS);
      try {
        await pushImage(client, 'bench/warmup', 'latest', warmup.config, warmup.layers);
        await client.pull('bench/warmup', 'latest', 'application/vnd.oci.image.manifest.v1+json');
        await sleep(SETTLE_MS);
        const idleAfterPushBytes = processRssBytes(server.pid);
        const load = await underLoad(server, client, clientBlobs);
        return { idleAfterStartBytes, idleAfterPushBytes, ...load };
      } finally {
        client.close();
      }
    });
    const receiverRuns = [];
    for (let run = 0; run < ctx.runs; run++) {
      ctx.log(`memory → minimal node:http receiver, run ${run + 1}/${ctx.runs}`);
      receiverRuns.push(await receiverIdle(ctx.repoRoot, await ctx.tmp('nimbus-bench-receiver-'), warmup));
    }
    const data: MemoryData = {
      clients: CLIENTS,
      clientBlobBytes: CLIENT_BLOB_BYTES,
      receiver: {
        idleAfterStartBytes: summarize(receiverRuns.map((r) => r.idleAfterStartBytes)),
        idleAfterPushBytes: summarize(receiverRuns.map((r) => r.idleAfterPushBytes)),
      },
      registries: Object.fromEntries([...results].map(([kind, runs]) => [kind, {
        idleAfterStartBytes: summarize(runs.map((r) => r.idleAfterStartBytes)),
        idleAfterPushBytes: summarize(runs.map((r) => r.idleAfterPushBytes)),
        peakUnderLoadBytes: summarize(runs.map((r) => r.peakUnderLoadBytes)),
        loadMs: summarize(runs.map((r) => r.loadMs)),
      }])),
    };
    return { tables: [memoryTable(data)], notes: [...missing, ...memoryNotes()], data: data as unknown as Record<string, unknown> };
  },
};

/** The minimal receiver's idle RSS after start and after the warm-up push: what node itself holds. */
async function receiverIdle(repoRoot: string, dir: string, image: { config: RawBlob; layers: RawBlob[] }): Promise<{ idleAfterStartBytes: number; idleAfterPushBytes: number }> {
  const receiver = await startMinimalReceiver(repoRoot, dir);
  const client = new RawClient(receiver.url, 2);
  try {
    await sleep(SETTLE_MS);
    const idleAfterStartBytes = processRssBytes(receiver.pid);
    await pushImage(client, 'bench/warmup', 'latest', image.config, image.layers);
    await sleep(SETTLE_MS);
    return { idleAfterStartBytes, idleAfterPushBytes: processRssBytes(receiver.pid) };
  } finally {
    client.close();
    await receiver.stop();
  }
}

/** Every client at once: its own blob pushed as one streamed PATCH, then pulled back. */
async function underLoad(server: RegistryServer, client: RawClient, blobs: RawBlob[]): Promise<{ peakUnderLoadBytes: number; loadMs: number }> {
  if (!resetPeakRss(server.pid)) throw new Error('the kernel refused to reset the peak RSS (/proc/<pid>/clear_refs)');
  let peakUnderLoadBytes = processRssBytes(server.pid);
  // VmHWM after the reset covers the load; sampling as well guards against a kernel that ignores the reset.
  const sampler = setInterval(() => (peakUnderLoadBytes = Math.max(peakUnderLoadBytes, processRssBytes(server.pid))), 100);
  const started = performance.now();
  try {
    await Promise.all(blobs.map(async (blob, index) => {
      await client.pushBlob(`bench/load-${index}`, blob);
      const answer = await client.send('GET', `/v2/bench/load-${index}/blobs/${blob.digest}`);
      if (answer.status !== 200 || answer.bytes !== blob.size) throw new Error(`GET blob ${index}: HTTP ${answer.status}, ${answer.bytes} bytes`);
    }));
  } finally {
    clearInterval(sampler);
  }
  const loadMs = performance.now() - started;
  return { peakUnderLoadBytes: Math.max(peakUnderLoadBytes, server.peakRssBytes()), loadMs };
}

function memoryTable(data: MemoryData): Table {
  const nimbus = data.registries.nimbus;
  const distribution = data.registries.distribution;
  return {
    title: `RSS idle and under ${data.clients} concurrent clients (each pushes and pulls ${formatBytes(data.clientBlobBytes)}), median (min–max)`,
    columns: ['registry', 'idle after start', 'idle after a push and pull', `peak, ${data.clients} clients`, 'peak: Nimbus ÷ registry:2', 'load wall time'],
    rows: (Object.entries(data.registries) as [RegistryKind, MemoryStats][]).map(([kind, stats]) => [
      REGISTRY_LABELS[kind], formatSummary(stats.idleAfterStartBytes, formatBytes), formatSummary(stats.idleAfterPushBytes, formatBytes),
      formatSummary(stats.peakUnderLoadBytes, formatBytes),
      kind === 'nimbus' ? formatRatio(ratio(nimbus?.peakUnderLoadBytes.median, distribution?.peakUnderLoadBytes.median)) : '',
      formatSummary(stats.loadMs, formatMs),
    ]).concat(data.receiver ? [[
      'floor: minimal node:http receiver (hash + write + fsync; push only)', formatSummary(data.receiver.idleAfterStartBytes, formatBytes),
      `${formatSummary(data.receiver.idleAfterPushBytes, formatBytes)} (push only)`, 'n/a', '', 'n/a',
    ]] : []),
  };
}

function memoryNotes(): string[] {
  return [
    `Idle RSS is read ${SETTLE_MS / 1000} s after the server answers (and again ${SETTLE_MS / 1000} s after a 16 MiB push and pull), from /proc/<pid>/status (VmRSS).`,
    'The peak under load is VmHWM after resetting it (/proc/<pid>/clear_refs) just before the clients start, and RSS sampled every 100 ms, whichever is higher.',
    'The floor row is bench/workers/minimal-receiver.ts (as plain JavaScript, node alone) idle after start and after the same push: what this Node binary and node:http hold with nothing of the registry loaded. Most of it is the node executable\'s own pages (file-backed RSS), which no JavaScript can return.',
    'Nimbus hands memory back after 2 s without a request (NIMBUS_IDLE_RELEASE, one memory-reducing collection); the minimal receiver does not.',
    'Clients are the raw node:http client of the `raw` section, one keep-alive connection each; Nimbus runs exactly as `npm start` does (its node flags included).',
  ];
}
