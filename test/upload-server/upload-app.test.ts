import { describe, expect, it, vi } from 'vitest';
import type { Registry } from '../../functions/core/index';
import { IdleMonitor } from '../../functions/upload-server/idle-monitor';
import { HEALTH_PATH, uploadEndpointFetch, WAKE_PATH } from '../../functions/upload-server/upload-app';

const ORIGIN = 'http://uploads.test';
const SESSION = '/v2/team/app/blobs/uploads/0b1c2d3e-0000-4000-8000-000000000000?_state=abc.def';

function setup() {
  let now = 0;
  const idle = new IdleMonitor(() => now);
  let release: (() => void) | undefined;
  const registry = {
    fetch: vi.fn(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return new Response(null, { status: 202 });
    }),
  } as unknown as Registry & { fetch: ReturnType<typeof vi.fn> };
  return {
    fetch: uploadEndpointFetch(registry, idle), registry, idle,
    advance: (ms: number) => (now += ms),
    finish: () => release?.(),
  };
}

describe('upload endpoint routes', () => {
  it.each([
    ['GET', '/v2/'],
    ['GET', '/v2/team/app/manifests/v1'],
    ['PUT', '/v2/team/app/manifests/v1'],
    ['POST', '/v2/team/app/blobs/uploads/'],
    ['GET', '/v2/team/app/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000'],
    ['GET', '/v2/_catalog'],
    ['GET', '/token'],
  ])('answers %s %s with 404 in spec JSON, without reaching the registry', async (method, path) => {
    const { fetch, registry } = setup();
    const response = await fetch(new Request(`${ORIGIN}${path}`, { method }));
    expect(response.status).toBe(404);
    const body = await response.json() as { errors: Array<{ code: string }> };
    expect(body.errors[0]!.code).toBe('UNSUPPORTED');
    expect(registry.fetch).not.toHaveBeenCalled();
  });

  it.each(['GET', 'PATCH', 'PUT', 'DELETE'])('hands %s on an upload session to the registry', async (method) => {
    const { fetch, registry, finish } = setup();
    const pending = fetch(new Request(`${ORIGIN}${SESSION}`, { method }));
    await vi.waitFor(() => expect(registry.fetch).toHaveBeenCalledOnce());
    finish();
    expect((await pending).status).toBe(202);
  });

  it('answers the health check without counting it as activity, and the wake probe counting it', async () => {
    const { fetch, idle, advance } = setup();
    advance(60_000);
    expect((await fetch(new Request(`${ORIGIN}${HEALTH_PATH}`))).status).toBe(200);
    expect(idle.isIdle(60_000)).toBe(true);
    expect((await fetch(new Request(`${ORIGIN}${WAKE_PATH}`))).status).toBe(200);
    expect(idle.isIdle(60_000)).toBe(false);
  });

  it('is never idle while an upload streams, however long it takes', async () => {
    const { fetch, idle, advance, finish, registry } = setup();
    const pending = fetch(new Request(`${ORIGIN}${SESSION}`, { method: 'PATCH' }));
    await vi.waitFor(() => expect(registry.fetch).toHaveBeenCalledOnce());
    advance(3_600_000);
    expect(idle.isIdle(60_000)).toBe(false);
    finish();
    await pending;
    expect(idle.isIdle(60_000)).toBe(false);
    advance(60_000);
    expect(idle.isIdle(60_000)).toBe(true);
  });
});
