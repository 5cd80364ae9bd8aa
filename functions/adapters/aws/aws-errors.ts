import { StoreConflictError, StoreNotFoundError, StoreThrottledError, StoreUnavailableError } from '../../core/index';

/**
 * Turns AWS SDK failures into the store errors the core understands, so storage pressure
 * becomes a retryable 429/503 and lost races a conflict, never an opaque 500. The SDK has
 * already retried what it could by the time an error gets here.
 */

const THROTTLING = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'ProvisionedThroughputExceededException',
  'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException', 'TooManyRequestsException', 'SlowDown',
]);

const UNAVAILABLE = new Set([
  'InternalServerError', 'InternalError', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException',
  'RequestTimeout', 'RequestTimeoutException', 'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

const CONFLICT = new Set(['ConditionalCheckFailedException', 'TransactionConflictException']);

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);

interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  CancellationReasons?: { Code?: string; Message?: string }[];
}

export function awsErrorName(error: unknown): string | undefined {
  return (error as AwsErrorShape | undefined)?.name;
}

/** Whether an error is one of the named AWS errors. */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  const name = awsErrorName(error);
  return name !== undefined && names.includes(name);
}

export function toStoreError(error: unknown, what: string): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof StoreConflictError || error instanceof StoreThrottledError
    || error instanceof StoreUnavailableError || error instanceof StoreNotFoundError) return error;
  const shape = error as AwsErrorShape;
  const name = shape.name ?? '';
  const status = shape.$metadata?.httpStatusCode;
  const detail = `${what}: ${name}${shape.message ? `: ${shape.message}` : ''}`;
  if (name === 'TransactionCanceledException') return fromCancellation(shape, what) ?? error;
  if (THROTTLING.has(name) || status === 429) return new StoreThrottledError(detail);
  if (CONFLICT.has(name)) return new StoreConflictError(detail);
  if (NOT_FOUND.has(name)) return new StoreNotFoundError(detail);
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500) || NETWORK_CODES.has(shape.code ?? '')) {
    return new StoreUnavailableError(detail);
  }
  return error;
}

/**
 * A cancelled transaction says, per action, why. Lost races (a condition or a concurrent
 * transaction) are conflicts the caller may retry; throttling is throttling; anything
 * else (a validation error) is a bug and stays an error.
 */
function fromCancellation(shape: AwsErrorShape, what: string): Error | undefined {
  const codes = (shape.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None').filter((code) => code !== 'None');
  const detail = `${what}: transaction cancelled (${codes.join(', ') || 'no reason given'})`;
  if (codes.some((code) => code === 'ThrottlingError' || code === 'ProvisionedThroughputExceeded' || code === 'RequestLimitExceeded')) {
    return new StoreThrottledError(detail);
  }
  if (codes.length > 0 && codes.every((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) {
    return new StoreConflictError(detail);
  }
  return undefined;
}

/** Runs one storage call, translating its failure. */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toStoreError(error, what);
  }
}
