import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogLine } from '../../functions/adapters/node/logger';
import { freePort } from '../../functions/dev/free-port';
import { exitCode, start, type Started } from './local-server';

/** A metric's value in Prometheus text, by its name and exact label set. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('probes and metrics of npm start', () => {
  let dir: string;
  const servers: Started[] = [];
  const launch = async (name: string, env: Record<string, string> = {}) => {
    const server = await start({ PORT: '0', NIMBUS_DATA_DIR: join(dir, name), NIMBUS_FSYNC: 'off', ...env });
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-ops-'));
  });
  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => exitCode(server.child)));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz, and /readyz only while the data directory is writable; no login needed', async () => {
    const server = await launch('probes', { NIMBUS_AUTH: 'on' });
    expect((await fetch(`${server.url}/v2/`)).status).toBe(401);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const tmp = join(dir, 'probes', 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await writeFile(tmp, 'not a directory');
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toMatch(/data directory not writable/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it('serves no /metrics unless asked', async () => {
    const server = await launch('off');
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  }, 60_000);

  it('NIMBUS_METRICS=on: requests by route and status, bytes in and out, open uploads, latency histograms', async () => {
    const server = await launch('on', { NIMBUS_METRICS: 'on' });
    const body = new TextEncoder().encode('metered bytes');
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    expect((await fetch(`${server.url}/v2/m/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body })).status).toBe(201);
    expect((await fetch(`${server.url}/v2/m/app/blobs/${digest}`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/m/app/manifests/missing`)).status).toBe(404);
    const open = await fetch(`${server.url}/v2/m/app/blobs/uploads/`, { method: 'POST' });
    expect(open.status).toBe(202);

    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'nimbus_http_requests_total{route="upload-start",method="POST",status="201"}')).toBe(1);
    expect(sample(text, 'nimbus_http_requests_total{route="upload-start",method="POST",status="202"}')).toBe(1);
    expect(sample(text, 'nimbus_http_requests_total{route="blob",method="GET",status="200"}')).toBe(1);
    expect(sample(text, 'nimbus_http_requests_total{route="manifest",method="GET",status="404"}')).toBe(1);
    expect(sample(text, 'nimbus_http_request_bytes_total{route="upload-start"}')).toBe(body.byteLength);
    expect(sample(text, 'nimbus_http_response_bytes_total{route="blob"}')).toBe(body.byteLength);
    expect(sample(text, 'nimbus_upload_sessions_open')).toBe(1);
    expect(sample(text, 'nimbus_http_request_duration_seconds_count{route="blob",method="GET"}')).toBe(1);
    expect(sample(text, 'nimbus_http_request_duration_seconds_bucket{le="+Inf",route="blob",method="GET"}')).toBe(1);

    // Client-chosen paths never become labels.
    await fetch(`${server.url}/no/such/${'x'.repeat(40)}`);
    expect(await (await fetch(`${server.url}/metrics`)).text()).not.toContain('x'.repeat(40));
    await fetch(`${server.url}${open.headers.get('location')!}`, { method: 'DELETE' });
    expect(sample(await (await fetch(`${server.url}/metrics`)).text(), 'nimbus_upload_sessions_open')).toBe(0);

    // Garbage collection: the blob no manifest uses goes in a pass without a safety window.
    const dry = await fetch(`${server.url}/v2/_nimbus/gc?dryRun=1&minAge=0`, { method: 'POST' });
    expect(dry.status).toBe(200);
    const pass = await fetch(`${server.url}/v2/_nimbus/gc?minAge=0`, { method: 'POST' });
    expect(((await pass.json()) as { deleted: Array<{ digest: string }> }).deleted.map((blob) => blob.digest)).toContain(digest);
    const afterGc = await (await fetch(`${server.url}/metrics`)).text();
    expect(sample(afterGc, 'nimbus_gc_passes_total{dry_run="true"}')).toBe(1);
    expect(sample(afterGc, 'nimbus_gc_passes_total{dry_run="false"}')).toBe(1);
    expect(sample(afterGc, 'nimbus_gc_blobs_deleted_total')).toBe(1);
    expect(sample(afterGc, 'nimbus_gc_bytes_freed_total')).toBeGreaterThanOrEqual(body.byteLength);
    expect(sample(afterGc, 'nimbus_gc_last_pass_timestamp_seconds')).toBeGreaterThan(0);
  }, 60_000);

  it('NIMBUS_METRICS=<port>: /metrics on that port only', async () => {
    const server = await launch('port', { NIMBUS_METRICS: '0' }).catch((error: unknown) => error as Error);
    expect(String(server)).toMatch(/NIMBUS_METRICS must be off, on or a port number/);
    const free = await freePort();
    const separate = await launch('separate', { NIMBUS_METRICS: String(free) });
    const metricsUrl = separate.output().split('\n').map((line) => readLogLine(line, 'nimbus registry listening')?.metricsUrl as string | undefined).find(Boolean);
    expect(metricsUrl).toBe(`http://127.0.0.1:${free}/metrics`);
    expect((await fetch(`${separate.url}/v2/`)).status).toBe(200);
    expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
    const text = await (await fetch(metricsUrl!)).text();
    expect(sample(text, 'nimbus_http_requests_total{route="base",method="GET",status="200"}')).toBe(1);
  }, 60_000);
});
