import { describe, expect, it } from 'vitest';
import { ERROR_CODES, RegistryError, StoreConflictError, StoreThrottledError, StoreUnavailableError } from '../../functions/core/errors';
import { errorResponse } from '../../functions/core/http/responses';

describe('errors become spec responses in one place', () => {
  const logged: unknown[] = [];
  const logger = { log: (...args: unknown[]) => void logged.push(args) };

  it('renders registry errors with their code, status, detail and headers', async () => {
    const response = errorResponse(new RegistryError('BLOB_UNKNOWN', 'gone', { detail: { d: 1 }, headers: { 'X-Y': 'z' } }), logger, 'r1');
    expect(response.status).toBe(404);
    expect(response.headers.get('x-y')).toBe('z');
    expect(await response.json()).toEqual({ errors: [{ code: 'BLOB_UNKNOWN', message: 'gone', detail: { d: 1 } }] });
  });

  it('maps store pressure to retryable 429 and 503', async () => {
    const throttled = errorResponse(new StoreThrottledError(), logger, 'r2');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect((await throttled.json()).errors[0].code).toBe('TOOMANYREQUESTS');
    expect(errorResponse(new StoreUnavailableError(), logger, 'r3').status).toBe(503);
    expect(errorResponse(new StoreConflictError(), logger, 'r4').status).toBe(503);
  });

  it('hides internals of unexpected errors behind the request id, and logs them', async () => {
    const response = errorResponse(new TypeError('secret internal path /var/x.ts:12'), logger, 'req-42');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { requestId: 'req-42' } }] });
    expect(JSON.stringify(logged.at(-1))).toContain('secret internal path');
  });

  it('gives every spec code a 4xx status (and only UNKNOWN/UNAVAILABLE a 5xx)', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      if (code === 'UNKNOWN' || code === 'UNAVAILABLE') expect(status).toBeGreaterThanOrEqual(500);
      else expect(status).toBeLessThan(500);
    }
  });
});
