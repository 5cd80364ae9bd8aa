import { RegistryError } from '../core/errors';
import type { Clock } from '../core/ports';
import { addressBucket } from './client-address';

/**
 * Failure counters over fixed windows, keyed by what they count. The counter is a port:
 * in memory for the single node server, in the table where many processes serve logins
 * (Lambda), so every instance sees the same counts.
 */
export interface AttemptCounter {
  /** Adds one to `key`'s count in `window` and returns the new count; it may be forgotten after `expiresAt` (epoch seconds). */
  increment(key: string, window: number, expiresAt: number): Promise<number>;
  count(key: string, window: number): Promise<number>;
  reset(key: string, window: number): Promise<void>;
}

export interface Limit {
  failures: number;
  windowSeconds: number;
}

/**
 * Failed-login limits. A login is refused (429, before its secret is checked) when its
 * name-and-address pair or its address has failed too often; a name's own budget never
 * refuses a caller whose pair is clean, so an attacker cannot lock a user out from
 * anywhere but the attacker's own addresses.
 *
 * Why these numbers: robot secrets are 256 random bits; passwords are at least 8
 * characters (NIST SP 800-63B lets a verifier allow up to 100 consecutive failures per
 * account). Per name, an attacker gets `perName` guesses an hour from everywhere together
 * (480 a day by default), and once that budget is spent, one guess per pair window from
 * each of its own addresses that has not failed on that name yet (96 a day per address;
 * each address also stops at `perAddress` failures across all names). With 1,000
 * addresses that is about 100,000 guesses a day, 2^25 a year: a robot secret is out of
 * reach, and a random 8-character password (~47 bits) holds for millions of years. What
 * such a rate can find is a password from a list of common ones, which no limit that
 * still lets the real user in can prevent.
 */
export interface LoginLimits {
  /** Failures of one name from one address. @default 5 per 15 minutes */
  perPair?: Limit;
  /** Failures from one address (IPv6: one /64), whatever the names. @default 50 per 15 minutes */
  perAddress?: Limit;
  /** Failures of one name from all addresses, before only clean pairs may try. @default 20 per hour */
  perName?: Limit;
}

export const DEFAULT_LOGIN_LIMITS: Required<LoginLimits> = {
  perPair: { failures: 5, windowSeconds: 900 },
  perAddress: { failures: 50, windowSeconds: 900 },
  perName: { failures: 20, windowSeconds: 3600 },
};

export interface LoginAttempt {
  /** A name that could be a principal (counted per pair and per name); undefined for names no store can hold. */
  name: string | undefined;
  address: string | undefined;
  /** Whether the name has a guessing budget of its own (not for "oidc", shared by every CI job). */
  nameBudget: boolean;
}

interface Counted {
  key: string;
  limit: Limit;
  window: number;
  count: number;
}

/** What admit() counted, for failed() and succeeded(). */
export interface Admission {
  pair: Counted | undefined;
  address: Counted;
  name: Counted | undefined;
}

export class LoginThrottle {
  private readonly limits: Required<LoginLimits>;

  constructor(private readonly counter: AttemptCounter, private readonly clock: Clock, limits: LoginLimits = {}) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
  }

  /** Reads the counts (no writes) and refuses with 429 when a limit applies. */
  async admit(attempt: LoginAttempt): Promise<Admission> {
    const bucket = addressBucket(attempt.address);
    const [pair, address, name] = await Promise.all([
      attempt.name === undefined ? undefined : this.read(`pair:${attempt.name}|${bucket}`, this.limits.perPair),
      this.read(`address:${bucket}`, this.limits.perAddress),
      attempt.name === undefined || !attempt.nameBudget ? undefined : this.read(`principal:${attempt.name}`, this.limits.perName),
    ]);
    if (pair && pair.count >= pair.limit.failures) throw this.refusal(pair, 'too many failed logins for this name from your address');
    if (address.count >= address.limit.failures) throw this.refusal(address, 'too many failed logins from your address');
    // The name's budget is spent: only callers with a clean record for it may still try.
    if (name && pair && name.count >= name.limit.failures && pair.count > 0) {
      throw this.refusal(pair, 'too many failed logins for this name; try again later');
    }
    return { pair, address, name };
  }

  async failed(admission: Admission): Promise<void> {
    const counted = [admission.pair, admission.address, admission.name].filter((c): c is Counted => c !== undefined);
    await Promise.all(counted.map((c) => this.counter.increment(c.key, c.window, (c.window + 2) * c.limit.windowSeconds)));
  }

  /**
   * Clears the pair's failures, and only when there were some: Basic auth on every request
   * must not write. The name's and the address's counts stay, or each good login of the
   * real user would hand an attacker a fresh budget.
   */
  async succeeded(admission: Admission): Promise<void> {
    if (admission.pair && admission.pair.count > 0) await this.counter.reset(admission.pair.key, admission.pair.window);
  }

  private async read(key: string, limit: Limit): Promise<Counted> {
    const window = Math.floor(this.clock.now() / 1000 / limit.windowSeconds);
    return { key, limit, window, count: await this.counter.count(key, window) };
  }

  private refusal(counted: Counted, message: string): RegistryError {
    const retryAfter = (counted.window + 1) * counted.limit.windowSeconds - Math.floor(this.clock.now() / 1000);
    return new RegistryError('TOOMANYREQUESTS', `${message}; wait before trying again`, {
      headers: { 'Retry-After': String(Math.max(1, retryAfter)) },
    });
  }
}

export class MemoryAttemptCounter implements AttemptCounter {
  private readonly counts = new Map<string, { window: number; count: number; expiresAt: number }>();

  constructor(private readonly maxKeys = 100_000, private readonly clock: Clock = { now: () => Date.now() }) {}

  async increment(key: string, window: number, expiresAt: number): Promise<number> {
    const entry = this.counts.get(key);
    const count = entry && entry.window === window ? entry.count + 1 : 1;
    if (!entry && this.counts.size >= this.maxKeys) this.prune();
    this.counts.set(key, { window, count, expiresAt });
    return count;
  }

  async count(key: string, window: number): Promise<number> {
    const entry = this.counts.get(key);
    return entry && entry.window === window ? entry.count : 0;
  }

  async reset(key: string): Promise<void> {
    this.counts.delete(key);
  }

  /**
   * Forgets expired counts, then, when a flood of fresh keys still fills the map, the
   * smallest counts: a name under attack has a high count and is kept, so flooding cannot
   * reset its budget. Prunes to 90 % so the sort is paid once per many inserts.
   */
  private prune(): void {
    const now = this.clock.now() / 1000;
    for (const [key, entry] of this.counts) if (entry.expiresAt <= now) this.counts.delete(key);
    const target = Math.floor(this.maxKeys * 0.9);
    if (this.counts.size <= target) return;
    const smallest = [...this.counts].sort(([, a], [, b]) => a.count - b.count);
    for (const [key] of smallest.slice(0, this.counts.size - target)) this.counts.delete(key);
  }
}
