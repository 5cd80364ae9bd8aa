import { Counter, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import { jsonLogger } from '../adapters/node/logger';
import { startHttpServer, type ExchangeRecord, type RunningServer } from '../adapters/node-http/server';
import { matchRoute } from '../core/index';
import type { GcReport } from '../core/gc/ports';
import { text } from './ops';

// Loaded by main.ts only when NIMBUS_METRICS is on: prom-client stays out of an idle default server.

/** Request counts, bytes and latencies by route (the core's route names, never raw paths), and open uploads. */
export class RegistryMetrics {
  readonly registry = new MetricsRegistry();
  private readonly requests = new Counter({
    name: 'nimbus_http_requests_total', help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const, registers: [this.registry],
  });
  private readonly bytesIn = new Counter({
    name: 'nimbus_http_request_bytes_total', help: 'Request body bytes received, by route.', labelNames: ['route'] as const, registers: [this.registry],
  });
  private readonly bytesOut = new Counter({
    name: 'nimbus_http_response_bytes_total', help: 'Response body bytes sent, by route.', labelNames: ['route'] as const, registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'nimbus_http_request_duration_seconds', help: 'Time from request to the last byte of the answer, by route and method.',
    labelNames: ['route', 'method'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  private readonly gcPasses = new Counter({
    name: 'nimbus_gc_passes_total', help: 'Garbage collection passes finished, dry runs included.', labelNames: ['dry_run'] as const, registers: [this.registry],
  });
  private readonly gcBlobs = new Counter({
    name: 'nimbus_gc_blobs_deleted_total', help: 'Blobs garbage collection deleted (dry runs not counted).', registers: [this.registry],
  });
  private readonly gcBytes = new Counter({
    name: 'nimbus_gc_bytes_freed_total', help: 'Bytes garbage collection freed: blobs, abandoned uploads and orphaned files (dry runs not counted).',
    registers: [this.registry],
  });
  private readonly gcDuration = new Gauge({
    name: 'nimbus_gc_last_pass_duration_seconds', help: 'How long the last garbage collection pass took.', registers: [this.registry],
  });
  private readonly gcFinished = new Gauge({
    name: 'nimbus_gc_last_pass_timestamp_seconds', help: 'When the last garbage collection pass finished (Unix time).', registers: [this.registry],
  });

  constructor(uploadCount: () => Promise<number>) {
    new Gauge({
      name: 'nimbus_upload_sessions_open', help: 'Upload sessions on disk (open, or abandoned and not yet swept).', registers: [this.registry],
      async collect() {
        this.set(await uploadCount());
      },
    });
  }

  record(exchange: ExchangeRecord): void {
    const route = routeOf(exchange.path);
    const method = METHODS.has(exchange.method) ? exchange.method : 'other';
    this.requests.inc({ route, method, status: String(exchange.status) });
    this.bytesIn.inc({ route }, exchange.bytesIn);
    this.bytesOut.inc({ route }, exchange.bytesOut);
    this.latency.observe({ route, method }, exchange.seconds);
  }

  /** A finished garbage collection pass (GcPasses.onReport). */
  recordGc(report: GcReport, finishedAtMs: number): void {
    this.gcPasses.inc({ dry_run: String(report.dryRun) });
    this.gcDuration.set(report.durationMs / 1000);
    this.gcFinished.set(Math.floor(finishedAtMs / 1000));
    if (report.dryRun) return;
    this.gcBlobs.inc(report.blobsDeleted);
    this.gcBytes.inc(report.bytesFreed + report.uploadBytesFreed + report.orphanBytesFreed);
  }

  async response(): Promise<Response> {
    return new Response(await this.registry.metrics(), { headers: { 'Content-Type': this.registry.contentType, 'Cache-Control': 'no-store' } });
  }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** A bounded label: the route's name, the ops path, or "other" (a client picks the path). */
function routeOf(path: string): string {
  if (OPS_PATHS.has(path)) return path.slice(1);
  return matchRoute(path)?.route.name ?? 'other';
}

/** NIMBUS_METRICS=<port>: /metrics alone on a port of its own (scrapes are not logged). */
export function startMetricsServer(metrics: RegistryMetrics, host: string, port: number): Promise<RunningServer> {
  return startHttpServer({
    host,
    port,
    logger: jsonLogger('warn'),
    fetch: async (request) => (new URL(request.url).pathname === '/metrics' ? metrics.response() : text(404, 'only /metrics is served here\n')),
  });
}
