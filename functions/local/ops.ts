import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryMetrics } from './metrics';

/**
 * Operations endpoints of the local server, outside the Distribution API (which lives under
 * /v2/): liveness, readiness and Prometheus metrics. They need no login, so orchestrators
 * and scrapers can reach them; metrics are off unless asked for.
 */
export interface OpsOptions {
  readonly dataDir: string;
  /** Serve /metrics on the registry's own port. */
  readonly metricsOnRegistryPort: boolean;
  readonly metrics: RegistryMetrics | undefined;
}

/** Wraps the registry's fetch: /healthz, /readyz (and /metrics when asked) are answered here. */
export function withOps(fetch: (request: Request) => Promise<Response>, options: OpsOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname;
    const read = request.method === 'GET' || request.method === 'HEAD';
    if (read && path === '/healthz') return text(200, 'ok\n');
    if (read && path === '/readyz') return readiness(options.dataDir);
    if (read && path === '/metrics' && options.metricsOnRegistryPort && options.metrics) return options.metrics.response();
    return fetch(request);
  };
}

/** Ready when a file can be written to (and removed from) the data directory's tmp/. */
async function readiness(dataDir: string): Promise<Response> {
  const probe = join(dataDir, 'tmp', `readyz-${randomUUID()}`);
  try {
    await writeFile(probe, 'ready');
    await rm(probe, { force: true });
    return text(200, 'ready\n');
  } catch (error) {
    return text(503, `data directory not writable: ${(error as NodeJS.ErrnoException).code ?? 'error'}\n`);
  }
}

export function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
}
