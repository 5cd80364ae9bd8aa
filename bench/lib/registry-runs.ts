import { summarize, type Summary } from './stats';
import { startRegistry, type RegistryKind, type RegistryServer } from './servers';
import { requireTool } from '../../harness/clients/process';

/** One push and pull of one image into one freshly started registry. */
export interface CopyRun {
  pushMs: number;
  pullMs: number;
  /** Server CPU (user + system) during the push and during the pull. */
  pushCpuMs: number;
  pullCpuMs: number;
  peakRssBytes: number;
}

export interface CopyStats {
  runs: CopyRun[];
  pushMs: Summary;
  pullMs: Summary;
  totalMs: Summary;
  pushCpuMs: Summary;
  pullCpuMs: Summary;
  totalCpuMs: Summary;
  peakRssBytes: Summary;
}

export function copyStats(runs: CopyRun[]): CopyStats {
  return {
    runs,
    pushMs: summarize(runs.map((r) => r.pushMs)),
    pullMs: summarize(runs.map((r) => r.pullMs)),
    totalMs: summarize(runs.map((r) => r.pushMs + r.pullMs)),
    pushCpuMs: summarize(runs.map((r) => r.pushCpuMs)),
    pullCpuMs: summarize(runs.map((r) => r.pullCpuMs)),
    totalCpuMs: summarize(runs.map((r) => r.pushCpuMs + r.pullCpuMs)),
    peakRssBytes: summarize(runs.map((r) => r.peakRssBytes)),
  };
}

/** The registries to compare: Nimbus always; distribution when Debian's docker-registry is installed. */
export function availableRegistries(): { kinds: RegistryKind[]; missing: string[] } {
  try {
    requireTool('docker-registry', 'docker-registry');
    return { kinds: ['nimbus', 'distribution'], missing: [] };
  } catch (error) {
    return { kinds: ['nimbus'], missing: [`registry:2 not available: ${(error as Error).message} (or run bash bench/setup.sh)`] };
  }
}

/**
 * Runs `measure` `runs` times per registry, interleaved (A B A B ...) so slow phases of a
 * noisy machine hit both alike. Each run gets a freshly started registry with empty data,
 * removed afterwards, which keeps disk use bounded to one copy of an image.
 */
export async function interleaved<T>(
  kinds: readonly RegistryKind[], runs: number, repoRoot: string,
  measure: (server: RegistryServer, kind: RegistryKind, run: number) => Promise<T>,
): Promise<Map<RegistryKind, T[]>> {
  const results = new Map<RegistryKind, T[]>(kinds.map((kind) => [kind, []]));
  for (let run = 0; run < runs; run++) {
    for (const kind of kinds) {
      const server = await startRegistry(kind, repoRoot);
      try {
        results.get(kind)!.push(await measure(server, kind, run));
      } catch (error) {
        throw new Error(`${kind} run ${run + 1}: ${(error as Error).message}\n--- ${kind} log ---\n${server.logs()}`);
      } finally {
        await server.stop();
      }
    }
  }
  return results;
}

/** Wall time of `action`, and the server CPU it caused. */
export async function timed(server: RegistryServer, action: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpuBefore = server.cpuMs();
  const started = performance.now();
  await action();
  const ms = performance.now() - started;
  return { ms, cpuMs: server.cpuMs() - cpuBefore };
}
