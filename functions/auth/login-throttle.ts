import { RegistryError } from '../core/errors';
import type { Clock } from '../core/ports';

/**
 * Failed-login limits, per principal name and per client address, over fixed windows.
 * The counter is a port: in memory for the single node server, a store-backed one where
 * many processes serve logins (Lambda).
 */
export interface AttemptCounter {
  /** Adds one to `key`'s count in `window` and returns the new count. */
  increment(key: string, window: number): Promise<number>;
  count(key: string, window: number): Promise<number>;
  reset(key: string, window: number): Promise<void>;
}

export class MemoryAttemptCounter implements AttemptCounter {
  private readonly counts = new Map<string, { window: number; count: number }>();

  constructor(private readonly maxKeys = 100_000) {}

  async increment(key: string, window: number): Promise<number> {
    const entry = this.counts.get(key);
    const count = entry && entry.window === window ? entry.count + 1 : 1;
    if (!entry && this.counts.size >= this.maxKeys) this.prune(window);
    this.counts.set(key, { window, count });
    return count;
  }

  async count(key: string, window: number): Promise<number> {
    const entry = this.counts.get(key);
    return entry && entry.window === window ? entry.count : 0;
  }

  async reset(key: string): Promise<void> {
    this.counts.delete(key);
  }

  private prune(window: number): void {
    for (const [key, entry] of this.counts) if (entry.window !== window) this.counts.delete(key);
    // Still full within one window: forget the oldest keys rather than grow without bound.
    for (const key of this.counts.keys()) {
      if (this.counts.size < this.maxKeys) break;
      this.counts.delete(key);
    }
  }
}

export interface LoginLimits {
  /** Failed logins allowed per principal name per window. @default 10 */
  perPrincipal?: number;
  /** Failed logins allowed per client address per window. @default 30 */
  perAddress?: number;
  /** @default 300 */
  windowSeconds?: number;
}

export class LoginThrottle {
  private readonly perPrincipal: number;
  private readonly perAddress: number;
  private readonly windowSeconds: number;

  constructor(private readonly counter: AttemptCounter, private readonly clock: Clock, limits: LoginLimits = {}) {
    this.perPrincipal = limits.perPrincipal ?? 10;
    this.perAddress = limits.perAddress ?? 30;
    this.windowSeconds = limits.windowSeconds ?? 300;
  }

  /**
   * Refuses with 429 before the secret is even checked, once a limit is reached; otherwise
   * returns the principal's failures so far in this window.
   */
  async check(principal: string, address: string | undefined): Promise<number> {
    const window = this.window();
    const [byPrincipal, byAddress] = await Promise.all([
      this.counter.count(principalKey(principal), window),
      address ? this.counter.count(addressKey(address), window) : 0,
    ]);
    if (byPrincipal >= this.perPrincipal || byAddress >= this.perAddress) {
      const retryAfter = (window + 1) * this.windowSeconds - Math.floor(this.clock.now() / 1000);
      throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins; wait before trying again', {
        headers: { 'Retry-After': String(Math.max(1, retryAfter)) },
      });
    }
    return byPrincipal;
  }

  async failed(principal: string, address: string | undefined): Promise<void> {
    const window = this.window();
    await Promise.all([
      this.counter.increment(principalKey(principal), window),
      address ? this.counter.increment(addressKey(address), window) : undefined,
    ]);
  }

  /** A good login clears the principal's count (not the address's: one account must not unlock others). */
  async succeeded(principal: string): Promise<void> {
    await this.counter.reset(principalKey(principal), this.window());
  }

  private window(): number {
    return Math.floor(this.clock.now() / 1000 / this.windowSeconds);
  }
}

const principalKey = (name: string) => `principal:${name}`;
const addressKey = (address: string) => `address:${address}`;
