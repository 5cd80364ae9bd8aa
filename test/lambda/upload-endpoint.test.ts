import { describe, expect, it, vi } from 'vitest';
import { UploadEndpointGate } from '../../functions/lambda/upload-endpoint';

const ORIGIN = 'https://d111.cloudfront.net';
const REGISTRY = 'https://registry.test';

/** A gate on a fake clock whose endpoint comes up `upAfterMs` after it is asked to start. */
function setup(options: { up: boolean; upAfterMs?: number; budgetMs?: number }) {
  let now = 0;
  let startedAt: number | undefined;
  const probes: string[] = [];
  const scaler = { setDesiredCount: vi.fn(async () => { startedAt ??= now; }) };
  const fetch = vi.fn(async (url: string | URL | Request) => {
    probes.push(String(url));
    const up = options.up || (startedAt !== undefined && now - startedAt >= (options.upAfterMs ?? Infinity));
    return new Response(up ? '{}' : 'no healthy upstream', { status: up ? 200 : 503 });
  }) as unknown as typeof globalThis.fetch;
  const logs: string[] = [];
  const gate = new UploadEndpointGate({
    origin: ORIGIN, scaler, fetch, now: () => now, sleep: async (ms) => { now += ms; },
    logger: { log: (_level, message) => logs.push(message) }, wakeBudgetMs: options.budgetMs ?? 20_000,
  });
  const inner = vi.fn(async (request: Request) => new Response(null, { status: request.url.includes('mount=') ? 201 : 202 }));
  return { gate, fetch: gate.wrap(inner), inner, scaler, probes, logs, advance: (ms: number) => (now += ms) };
}

const post = (path = '/v2/team/app/blobs/uploads/') => new Request(`${REGISTRY}${path}`, { method: 'POST' });

describe('upload endpoint gate', () => {
  it('lets an upload POST through at once when the endpoint answers its wake probe', async () => {
    const { fetch, scaler, probes } = setup({ up: true });
    expect((await fetch(post())).status).toBe(202);
    expect(probes).toEqual([`${ORIGIN}/_nimbus/wake`]);
    expect(scaler.setDesiredCount).not.toHaveBeenCalled();
  });

  it('trusts a successful probe for a minute, then checks again', async () => {
    const { fetch, probes, advance } = setup({ up: true });
    await fetch(post());
    await fetch(post());
    expect(probes).toHaveLength(1);
    advance(61_000);
    await fetch(post());
    expect(probes).toHaveLength(2);
  });

  it('starts a scaled-to-zero endpoint and holds the POST until it answers', async () => {
    const { fetch, scaler, probes } = setup({ up: false, upAfterMs: 9_000 });
    expect((await fetch(post())).status).toBe(202);
    expect(scaler.setDesiredCount).toHaveBeenCalledExactlyOnceWith(1);
    expect(probes.length).toBeGreaterThanOrEqual(5);
  });

  it('answers anyway once its wait is up, and asks ECS again only after 30 s', async () => {
    const { fetch, scaler, logs } = setup({ up: false, budgetMs: 10_000 });
    expect((await fetch(post())).status).toBe(202);
    expect(logs).toContain('upload endpoint is not up yet; answering anyway, the client retries');
    await fetch(post()); // 10 s later: still within the 30 s since the first request
    expect(scaler.setDesiredCount).toHaveBeenCalledOnce();
    await fetch(post()); // 20 s
    await fetch(post()); // 30 s
    expect(scaler.setDesiredCount).toHaveBeenCalledTimes(2);
  });

  it('never wakes the endpoint for other requests, refused POSTs or mounts', async () => {
    const { gate, fetch, probes } = setup({ up: false });
    await fetch(new Request(`${REGISTRY}/v2/team/app/manifests/v1`));
    await fetch(post('/v2/team/app/blobs/uploads/?mount=sha256:00&from=x'));
    const refused = gate.wrap(async () => new Response(null, { status: 401 }));
    await refused(post());
    expect(probes).toEqual([]);
  });
});
