import type { Clock, Timers } from '../../functions/core/index';

interface Timer {
  due: number;
  every: number;
  tick: () => void;
}

/**
 * A clock and timers that move only when a test says so: one instance per simulated process,
 * so a test can pause one process (stop advancing it) while another's time runs on.
 */
export class ManualTime implements Clock, Timers {
  private current: number;
  private readonly timers = new Set<Timer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  every(ms: number, tick: () => void): { cancel(): void } {
    const timer = { due: this.current + ms, every: ms, tick };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  /** Timers still running (cancelled ones are gone). */
  get active(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer whose time comes, in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = [...this.timers].filter((timer) => timer.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.current = next.due;
      next.due += next.every;
      next.tick();
    }
    this.current = end;
  }
}
