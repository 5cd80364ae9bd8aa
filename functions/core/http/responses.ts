import { ERROR_CODES, RegistryError, StoreConflictError, StoreThrottledError, StoreUnavailableError } from '../errors';
import type { ErrorCode } from '../errors';
import type { Logger } from '../ports';
import { API_VERSION, API_VERSION_HEADER, JSON_TYPE } from './headers';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': JSON_TYPE, [API_VERSION_HEADER]: API_VERSION, ...headers },
  });
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers: { [API_VERSION_HEADER]: API_VERSION, 'Content-Length': '0', ...headers } });
}

function errorBody(code: ErrorCode, message: string, detail?: unknown) {
  return { errors: [{ code, message, detail: detail ?? null }] };
}

/**
 * The one place errors become HTTP responses. Client errors carry the spec's code; storage
 * pressure becomes a retryable 429/503; anything else is logged and answered with an opaque
 * 500 that names the request id, never internals.
 */
export function errorResponse(error: unknown, logger: Logger, requestId: string): Response {
  if (error instanceof RegistryError) {
    return jsonResponse(error.status, errorBody(error.code, error.message, error.detail), error.headers);
  }
  if (error instanceof StoreThrottledError) {
    return jsonResponse(429, errorBody('TOOMANYREQUESTS', ERROR_CODES.TOOMANYREQUESTS.message), { 'Retry-After': '1' });
  }
  if (error instanceof StoreUnavailableError) {
    return jsonResponse(503, errorBody('UNAVAILABLE', ERROR_CODES.UNAVAILABLE.message), { 'Retry-After': '1' });
  }
  if (error instanceof StoreConflictError) {
    // A conflict the handler did not expect: the request lost a race; retrying is safe.
    return jsonResponse(503, errorBody('UNAVAILABLE', 'the resource was changed by a concurrent request; retry'), { 'Retry-After': '1' });
  }
  const err = error instanceof Error ? error : new Error(String(error));
  logger.log('error', 'unhandled error', { requestId, error: err.name, message: err.message, stack: err.stack });
  return jsonResponse(500, errorBody('UNKNOWN', 'internal error', { requestId }));
}
