import { describe, expect, it, vi } from 'vitest';
import { ANSWER_MARGIN_MS, UploadEndpointGate, wakeDeadline } from '../../functions/lambda/upload-endpoint';

const ORIGIN = 'https://d111.cloudfront.net';
const REGISTRY = 'https://registry.test';

/** A gate on a fake clock whose endpoint comes up `upAfterMs` after it is asked to start. */
function setup(options: { up: boolean; upAfterMs?: number; upForMs?: number }) {
  let now = 0;
  let startedAt: number | undefined;
  const probes: Array<{ at: number; timeoutMs: number }> = [];
  const timeouts = new WeakMap<AbortSignal, number>();
  const timeoutSignal = (ms: number) => {
    const signal = new AbortController().signal;
    timeouts.set(signal, ms);
    return signal;
  };
  const scaler = { setDesiredCount: vi.fn(async () => { startedAt ??= now; }) };
  const fetch = vi.fn(async (_url: string | URL | Request, init?: RequestInit) => {
    probes.push({ at: now, timeoutMs: timeouts.get(init!.signal!)! });
    const up = options.up || (startedAt !== undefined && now - startedAt >= (options.upAfterMs ?? Infinity));
    const body = up ? JSON.stringify({ status: 'ok', ...(options.upForMs ? { upForMs: options.upForMs } : {}) }) : 'no healthy upstream';
    return new Response(body, { status: up ? 200 : 503 });
  }) as unknown as typeof globalThis.fetch;
  const logs: string[] = [];
  const gate = new UploadEndpointGate({
    origin: ORIGIN, scaler, fetch, timeoutSignal, now: () => now, sleep: async (ms) => { now += ms; },
    logger: { log: (_level, message) => logs.push(message) },
  });
  const inner = vi.fn(async (request: Request) => new Response(null, { status: request.url.includes('mount=') ? 201 : 202 }));
  /** The gate as one invocation uses it, answering by `deadline` (ms on the fake clock). */
  const invoke = (request: Request, deadline = now + 20_000) => gate.wrap(inner, deadline)(request);
  return { gate, invoke, inner, scaler, probes, logs, now: () => now, advance: (ms: number) => (now += ms) };
}

const post = (path = '/v2/team/app/blobs/uploads/') => new Request(`${REGISTRY}${path}`, { method: 'POST' });

describe('wake deadline of an upload POST', () => {
  it('is the invocation\'s remaining time when that ends first, less the time to answer', () => {
    expect(wakeDeadline({ invokedAt: 1_000_000, remainingMs: 12_000, receivedAt: 999_900 })).toBe(1_012_000 - ANSWER_MARGIN_MS);
  });

  it('is API Gateway\'s 30 s from when it received the request when that ends first', () => {
    expect(wakeDeadline({ invokedAt: 1_000_000, remainingMs: 900_000, receivedAt: 998_000 })).toBe(998_000 + 30_000 - ANSWER_MARGIN_MS);
  });

  it('counts API Gateway\'s 30 s from the invocation when the receive time is unknown or in the future', () => {
    expect(wakeDeadline({ invokedAt: 1_000_000, remainingMs: 900_000 })).toBe(1_030_000 - ANSWER_MARGIN_MS);
    expect(wakeDeadline({ invokedAt: 1_000_000, remainingMs: 900_000, receivedAt: 1_005_000 })).toBe(1_030_000 - ANSWER_MARGIN_MS);
  });
});

describe('upload endpoint gate', () => {
  it('lets an upload POST through at once when the endpoint answers its wake probe', async () => {
    const { invoke, scaler, probes } = setup({ up: true });
    expect((await invoke(post())).status).toBe(202);
    expect(probes).toHaveLength(1);
    expect(scaler.setDesiredCount).not.toHaveBeenCalled();
  });

  it('trusts a successful probe for a minute, then checks again', async () => {
    const { invoke, probes, advance } = setup({ up: true });
    await invoke(post());
    await invoke(post());
    expect(probes).toHaveLength(1);
    advance(61_000);
    await invoke(post());
    expect(probes).toHaveLength(2);
  });

  it('trusts a probe for at most half the time the endpoint says it stays up', async () => {
    const { invoke, probes, advance } = setup({ up: true, upForMs: 40_000 });
    await invoke(post());
    advance(19_000);
    await invoke(post());
    expect(probes).toHaveLength(1);
    advance(2_000);
    await invoke(post());
    expect(probes).toHaveLength(2);
  });

  it('starts a scaled-to-zero endpoint and holds the POST until it answers', async () => {
    const { invoke, scaler, probes } = setup({ up: false, upAfterMs: 9_000 });
    expect((await invoke(post())).status).toBe(202);
    expect(scaler.setDesiredCount).toHaveBeenCalledExactlyOnceWith(1);
    expect(probes.length).toBeGreaterThanOrEqual(5);
  });

  it('answers by the invocation\'s deadline, with no probe running past it', async () => {
    const { invoke, logs, probes, now } = setup({ up: false });
    const deadline = now() + 7_300;
    expect((await invoke(post(), deadline)).status).toBe(202);
    expect(now()).toBeLessThanOrEqual(deadline);
    expect(logs).toContain('upload endpoint is not up yet; answering anyway, the client retries');
    for (const probe of probes) expect(probe.at + probe.timeoutMs).toBeLessThanOrEqual(deadline);
  });

  it('does not probe at all when the invocation has no time left', async () => {
    const { invoke, probes, now } = setup({ up: true });
    expect((await invoke(post(), now())).status).toBe(202);
    expect(probes).toEqual([]);
  });

  it('asks ECS again only after 30 s', async () => {
    const { invoke, scaler, now, advance } = setup({ up: false });
    const start = now();
    const at = async (offset: number) => {
      advance(start + offset - now());
      await invoke(post(), now() + 8_000);
    };
    await at(0);
    await at(10_000); // still within the 30 s since the first request
    await at(20_000);
    expect(scaler.setDesiredCount).toHaveBeenCalledOnce();
    await at(30_000);
    expect(scaler.setDesiredCount).toHaveBeenCalledTimes(2);
  });

  it('never wakes the endpoint for other requests, refused POSTs or mounts', async () => {
    const { gate, invoke, probes, now } = setup({ up: false });
    await invoke(new Request(`${REGISTRY}/v2/team/app/manifests/v1`));
    await invoke(post('/v2/team/app/blobs/uploads/?mount=sha256:00&from=x'));
    const refused = gate.wrap(async () => new Response(null, { status: 401 }), now() + 20_000);
    await refused(post());
    const toStorage = gate.wrap(async () => new Response(null, { status: 307, headers: { location: 'https://bucket.s3.amazonaws.com/blobs/x?X-Amz-Signature=1' } }), now() + 20_000);
    await toStorage(new Request(`${REGISTRY}/v2/team/app/blobs/sha256:00`));
    expect(probes).toEqual([]);
  });

  it('wakes the endpoint before a pull-through cache fill is redirected there', async () => {
    const { gate, probes, scaler, now } = setup({ up: false, upAfterMs: 8000 });
    const fill = gate.wrap(async () => new Response(null, { status: 307, headers: { location: `${ORIGIN}/v2/mirror/app/_nimbus/fill/sha256:00?_state=x` } }), now() + 20_000);
    expect((await fill(new Request(`${REGISTRY}/v2/mirror/app/blobs/sha256:00`))).status).toBe(307);
    expect(scaler.setDesiredCount).toHaveBeenCalledWith(1);
    expect(probes.length).toBeGreaterThan(1);
    expect(now()).toBeGreaterThanOrEqual(8000);
  });
});
