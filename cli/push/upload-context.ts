import type { Backoff, Limiter } from './concurrency';
import type { Meter, Progress } from './progress';
import type { RegistryClient } from './registry-client';

/** What every blob upload of one push shares. */
export interface UploadContext {
  registry: RegistryClient;
  progress: Progress;
  /** Counts uploaded bytes toward the push's total. */
  meter: Meter;
  /** Byte transfers in flight (parts and small blobs), across all blobs. */
  parts: Limiter;
  parallel: number;
  backoff: Backoff;
  verifyTimeoutMs: number;
}
