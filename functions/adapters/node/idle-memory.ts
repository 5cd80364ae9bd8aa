import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Where the server's work begins and ends; `end` once per `begin`. */
export interface ActivityListener {
  begin(): void;
  end(): void;
}

export interface IdleMemoryReleaser extends ActivityListener {
  /** Cancels a pending release (shutdown). */
  stop(): void;
}

export interface IdleMemoryOptions {
  /** Quiet time, after the last request ended, before memory is handed back. */
  readonly idleMs: number;
  /** Frees what it can and returns it to the system; default: V8's memory-reducing full collection. */
  readonly release?: () => void;
  /** Hears each release (for a debug log line). */
  readonly onRelease?: (record: { ms: number; rssBefore: number; rssAfter: number }) => void;
}

/**
 * Hands memory back to the system once the server has gone quiet.
 *
 * Why: a push leaves tens of MiB behind that nothing will use until the next one: Buffers
 * already unreachable but not yet collected (V8 collects them only under allocation
 * pressure, and an idle server allocates nothing), and a heap grown for the burst. V8's own
 * memory reducer, when it runs at all, shrinks the heap but leaves the freed Buffers' pages
 * with the allocator. One memory-reducing collection ("last resort": compacting, repeated
 * until nothing more is freed) after `idleMs` without a request returns both: ~20 MiB
 * after a 16 MiB push and pull, measured by `npm run bench` (section `memory`).
 *
 * It runs once per quiet period (activity since the last release re-arms it), never while
 * a request is in flight, and costs one pause of tens of milliseconds.
 */
export function releaseMemoryWhenIdle(options: IdleMemoryOptions): IdleMemoryReleaser {
  const release = options.release ?? collectAllGarbage;
  let inFlight = 0;
  // Start-up leaves garbage too: the first quiet period after start is released as well.
  let dirty = true;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(fire, options.idleMs);
    // A pending release never keeps the process alive.
    timer.unref();
  };
  const fire = () => {
    timer = undefined;
    if (inFlight > 0 || !dirty) return;
    dirty = false;
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    release();
    options.onRelease?.({ ms: performance.now() - started, rssBefore, rssAfter: process.memoryUsage.rss() });
  };
  arm();
  return {
    begin() {
      inFlight++;
      dirty = true;
      clearTimeout(timer);
      timer = undefined;
    },
    end() {
      inFlight = Math.max(0, inFlight - 1);
      if (inFlight === 0) arm();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
let gcFunction: GcFunction | undefined;

/**
 * V8's memory-reducing full collection. `gc` exists only with --expose-gc; turning the flag
 * on for one new context hands us the function without exposing it to the registry's own
 * global scope, and without a flag every way of starting the server would have to repeat.
 */
export function collectAllGarbage(): void {
  if (!gcFunction) {
    setFlagsFromString('--expose-gc');
    try {
      gcFunction = runInNewContext('gc') as GcFunction;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  gcFunction({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
