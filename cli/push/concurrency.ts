/** Runs at most `limit` tasks at a time; the rest wait their turn in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export interface Backoff {
  /** Tries in all, the first included. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { attempts: 5, baseMs: 500, maxMs: 15_000 };

/** Exponential backoff with full jitter: retries of many parts do not stampede together. */
export function backoffDelay(retry: number, backoff: Backoff): number {
  return Math.random() * Math.min(backoff.maxMs, backoff.baseMs * 2 ** retry);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
