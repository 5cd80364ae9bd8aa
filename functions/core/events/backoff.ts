/**
 * Retries: exponential backoff from `baseMs`, doubling per failed attempt up to `maxMs`, for
 * `maxAttempts` attempts; then the delivery is dead-lettered (`webhook deliveries` shows it).
 * With the defaults (1 s doubling to 1 h, 24 attempts) a receiver may be down about 12 hours.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 3_600_000, maxAttempts: 24 };

/** The wait after attempt `attempts` (1-based) failed, or undefined when it was the last. */
export function retryDelay(policy: BackoffPolicy, attempts: number): number | undefined {
  if (attempts >= policy.maxAttempts) return undefined;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempts - 1, 40));
}
