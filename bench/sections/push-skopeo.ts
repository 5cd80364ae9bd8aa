import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Skopeo } from '../../harness/clients/skopeo';
import { availableRegistries, copyStats, interleaved, timed, type CopyRun, type CopyStats } from '../lib/registry-runs';
import { REGISTRY_LABELS, type RegistryKind } from '../lib/servers';
import { availability, type Section, type Table } from '../lib/section';
import { benchImages } from '../lib/shared';
import { formatBytes, formatRatio, formatSummary, ratio } from '../lib/stats';

export interface PushData {
  client: string;
  images: Record<string, { label: string; bytes: number; registries: Partial<Record<RegistryKind, CopyStats>> }>;
}

/**
 * Section 1 with skopeo: push (oci layout → registry) and pull (registry → oci layout) of
 * each image, Nimbus and registry:2 interleaved, a fresh registry per run. The blob-info
 * cache is emptied before every copy, or skopeo would turn uploads into mount attempts.
 */
export const pushSkopeo: Section = {
  id: 'push',
  title: 'Push and pull with skopeo, local disk',
  summary: 'skopeo copy of a 50 MiB, a 500 MiB and a 100-layer image into and out of Nimbus and registry:2',
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    const dir = await ctx.tmp('nimbus-bench-skopeo-');
    const skopeo = await availability('skopeo', () => Skopeo.create(dir));
    const cache = join(dir, 'blob-info-cache');
    const clearCache = async () => {
      await rm(cache, { recursive: true, force: true });
      await mkdir(cache, { recursive: true });
    };
    const images = await benchImages(ctx);
    const data: PushData = { client: 'skopeo', images: {} };
    for (const bench of images) {
      const results = await interleaved(kinds, ctx.runs, ctx.repoRoot, async (server, kind, run): Promise<CopyRun> => {
        ctx.log(`push/pull ${bench.label} → ${kind}, run ${run + 1}/${ctx.runs}`);
        const reference = `docker://${server.host}/bench/${bench.id}:latest`;
        const pullDir = join(dir, `pull-${kind}`);
        await rm(pullDir, { recursive: true, force: true });
        await clearCache();
        let pushedDigest = '';
        const push = await timed(server, async () => {
          pushedDigest = await skopeo.copy(`oci:${bench.image.layoutDir}:${bench.image.refName}`, reference);
        });
        if (pushedDigest !== bench.image.manifest.digest) throw new Error(`skopeo pushed ${pushedDigest}, expected ${bench.image.manifest.digest}`);
        await clearCache();
        const pull = await timed(server, () => skopeo.copy(reference, `oci:${pullDir}:latest`));
        const peakRssBytes = server.peakRssBytes();
        await rm(pullDir, { recursive: true, force: true });
        return { pushMs: push.ms, pullMs: pull.ms, pushCpuMs: push.cpuMs, pullCpuMs: pull.cpuMs, peakRssBytes };
      });
      data.images[bench.id] = {
        label: bench.label,
        bytes: bench.bytes,
        registries: Object.fromEntries([...results].map(([kind, runs]) => [kind, copyStats(runs)])),
      };
    }
    return { tables: copyTables('skopeo', data), notes: [...missing, ...copyNotes()], data: data as unknown as Record<string, unknown> };
  },
};

export function copyNotes(): string[] {
  return [
    'Each run starts the registry on empty data; wall time is the client command, server CPU is user + system time of the registry process from /proc/<pid>/stat (10 ms ticks).',
    'Nimbus runs with its defaults (NIMBUS_FSYNC=on: blob bytes are fsynced before they become visible); registry:2 with the registry:2 image\'s default configuration.',
  ];
}

export function copyTables(client: string, data: PushData): Table[] {
  const wall: Table = {
    title: `${client}: push + pull wall time, median (min–max)`,
    columns: ['image', 'size', 'registry', 'push', 'pull', 'push + pull', 'Nimbus ÷ registry:2'],
    rows: [],
  };
  const cpu: Table = {
    title: `${client}: server CPU (user + system) and peak RSS, median (min–max)`,
    columns: ['image', 'registry', 'CPU push', 'CPU pull', 'CPU push + pull', 'Nimbus ÷ registry:2', 'peak RSS'],
    rows: [],
  };
  for (const image of Object.values(data.images)) {
    const nimbus = image.registries.nimbus;
    const distribution = image.registries.distribution;
    for (const [kind, stats] of Object.entries(image.registries) as [RegistryKind, CopyStats][]) {
      const isNimbus = kind === 'nimbus';
      wall.rows.push([
        image.label, formatBytes(image.bytes), REGISTRY_LABELS[kind],
        formatSummary(stats.pushMs), formatSummary(stats.pullMs), formatSummary(stats.totalMs),
        isNimbus ? formatRatio(ratio(nimbus?.totalMs.median, distribution?.totalMs.median)) : '',
      ]);
      cpu.rows.push([
        image.label, REGISTRY_LABELS[kind],
        formatSummary(stats.pushCpuMs), formatSummary(stats.pullCpuMs), formatSummary(stats.totalCpuMs),
        isNimbus ? formatRatio(ratio(nimbus?.totalCpuMs.median, distribution?.totalCpuMs.median)) : '',
        formatSummary(stats.peakRssBytes, formatBytes),
      ]);
    }
  }
  return [wall, cpu];
}

