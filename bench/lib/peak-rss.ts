import { descendants, processPeakRssBytes, processRssBytes, resetPeakRss } from './proc';

/** A long-running process to watch, known by pid (a server, an emulator). */
export interface KnownProcess {
  label: string;
  pid: number;
}

/** A short-lived process to watch, found by its command line among this process's descendants. */
export interface SpawnedProcess {
  label: string;
  matches(command: string): boolean;
}

export interface PeakRss {
  /** Highest resident set size during the watch, in bytes. */
  peakBytes: number;
  /** Resident set size when the watch started (NaN for processes started during it). */
  startBytes: number;
}

const SAMPLE_MS = 200;

/**
 * Peak RSS of every process of one measurement. Known processes get their high-water mark
 * (VmHWM) reset when the watch starts, so it covers only this measurement; where the kernel
 * refuses, their RSS is sampled instead. Processes spawned during the watch are found by
 * command line and their VmHWM is read every 200 ms until they exit: a peak in the last
 * 200 ms of a process's life can be missed.
 */
export class PeakRssWatch {
  private readonly peaks = new Map<string, PeakRss>();
  private readonly sampledOnly = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly known: KnownProcess[], private readonly spawned: SpawnedProcess[] = []) {}

  start(): this {
    for (const { label, pid } of this.known) {
      if (!resetPeakRss(pid)) this.sampledOnly.add(label);
      const rss = processRssBytes(pid);
      this.peaks.set(label, { peakBytes: rss, startBytes: rss });
    }
    for (const { label } of this.spawned) this.peaks.set(label, { peakBytes: Number.NaN, startBytes: Number.NaN });
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    return this;
  }

  /** Stops sampling; the peak of each watched process, by label. */
  stop(): Record<string, PeakRss> {
    clearInterval(this.timer);
    this.sample();
    for (const { label, pid } of this.known) {
      if (!this.sampledOnly.has(label)) this.raise(label, safe(() => processPeakRssBytes(pid)));
    }
    return Object.fromEntries(this.peaks);
  }

  private sample(): void {
    for (const { label, pid } of this.known) {
      if (this.sampledOnly.has(label)) this.raise(label, safe(() => processRssBytes(pid)));
    }
    if (this.spawned.length === 0) return;
    for (const info of descendants(process.pid)) {
      const watched = this.spawned.find((candidate) => candidate.matches(info.command));
      if (watched) this.raise(watched.label, safe(() => processPeakRssBytes(info.pid)));
    }
  }

  private raise(label: string, bytes: number): void {
    const entry = this.peaks.get(label)!;
    if (Number.isFinite(bytes) && !(bytes <= entry.peakBytes)) entry.peakBytes = bytes;
  }
}

/** NaN once the process has exited. */
function safe(read: () => number): number {
  try {
    return read();
  } catch {
    return Number.NaN;
  }
}
