import { describe, expect, it, vi } from 'vitest';
import type { Registry } from '../../functions/core/index';
import { IdleMonitor } from '../../functions/upload-server/idle-monitor';
import { IdleShutdown } from '../../functions/upload-server/idle-shutdown';
import { uploadEndpointFetch, WAKE_PATH } from '../../functions/upload-server/upload-app';

/** Conditions that depend on file or timer I/O: generous on a loaded machine. */
const PATIENCE = { timeout: 10_000, interval: 5 };
const IDLE_MS = 15 * 60_000;
const ORIGIN = 'http://uploads.test';
const SESSION = '/v2/team/app/blobs/uploads/0b1c2d3e-0000-4000-8000-000000000000?_state=abc.def';

/**
 * ECS's desired count as UpdateService calls land, in order. A call can be held in flight
 * (`hold`), to let another actor's call land first.
 */
class FakeEcs {
  desired = 1;
  readonly landed: Array<{ by: string; count: number }> = [];
  private failures = 0;
  private held: Array<() => void> = [];
  private holdNext = false;

  scaler(by: string) {
    return {
      setDesiredCount: async (count: number) => {
        if (this.holdNext) {
          this.holdNext = false;
          await new Promise<void>((resolve) => this.held.push(resolve));
        }
        if (this.failures > 0) {
          this.failures--;
          throw new Error('ECS UpdateService failed: ThrottlingException');
        }
        this.desired = count;
        this.landed.push({ by, count });
      },
    };
  }

  hold(): void {
    this.holdNext = true;
  }

  /** Lets the held call land. */
  release(): void {
    this.held.shift()!();
  }

  failNext(times = 1): void {
    this.failures = times;
  }
}

function setup() {
  let now = 0;
  const clock = () => now;
  const ecs = new FakeEcs();
  const idle = new IdleMonitor(clock);
  const logs: string[] = [];
  const shutdown = new IdleShutdown({ idle, scaler: ecs.scaler('task'), idleMs: IDLE_MS, now: clock, logger: { log: (_level, message) => logs.push(message) } });
  let finishRequest: (() => void) | undefined;
  const registry = {
    fetch: async () => {
      await new Promise<void>((resolve) => (finishRequest = resolve));
      return new Response(null, { status: 202 });
    },
  } as unknown as Registry;
  const endpoint = uploadEndpointFetch(registry, idle, () => shutdown.wakeAnswer());
  /** The registry function's wake probe, as it reaches this task. */
  const probe = async () => {
    const response = await endpoint(new Request(`${ORIGIN}${WAKE_PATH}`));
    return { status: response.status, body: await response.json() as { status: string; upForMs?: number } };
  };
  return {
    ecs, idle, shutdown, probe, logs,
    advance: (ms: number) => (now += ms),
    startRequest: () => endpoint(new Request(`${ORIGIN}${SESSION}`, { method: 'PATCH' })),
    finishRequest: () => finishRequest?.(),
  };
}

describe('upload endpoint scale to zero', () => {
  it('scales to zero after the idle window, not before, and never with a request in flight', async () => {
    const { shutdown, ecs, advance, startRequest, finishRequest } = setup();
    const request = startRequest();
    advance(IDLE_MS * 4);
    await shutdown.check();
    expect(ecs.landed).toEqual([]);
    finishRequest();
    await request;
    advance(IDLE_MS - 1);
    await shutdown.check();
    expect(ecs.landed).toEqual([]);
    advance(1);
    await shutdown.check();
    expect(ecs.landed).toEqual([{ by: 'task', count: 0 }]);
  });

  it('promises its idle window to the wake probe while serving, and answers 503 from its decision to stop on', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    expect(await probe()).toEqual({ status: 200, body: { status: 'ok', upForMs: IDLE_MS } });
    advance(IDLE_MS);
    ecs.hold();
    const stopping = shutdown.check();
    expect((await probe()).status).toBe(503); // the decision is made; the scale-down has not landed yet
    ecs.release();
    await stopping;
  });

  it('asks for the task back when a probe reached it while its scale-down was in flight', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    advance(IDLE_MS);
    ecs.hold();
    const stopping = shutdown.check();
    expect((await probe()).status).toBe(503);
    ecs.release();
    await stopping;
    await vi.waitFor(() => expect(ecs.landed).toEqual([{ by: 'task', count: 0 }, { by: 'task', count: 1 }]), PATIENCE);
    expect(ecs.desired).toBe(1);
    expect(await probe()).toMatchObject({ status: 200 });
  });

  it('ends with the desired count at 1 when the function\'s wake lands before the task\'s scale-down', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    const fn = ecs.scaler('function');
    advance(IDLE_MS);
    ecs.hold();
    const stopping = shutdown.check(); // the task's 0 is slow to land
    expect((await probe()).status).toBe(503); // the function's probe reaches the stopping task…
    await fn.setDesiredCount(1); // …so it starts the service, and its 1 lands first
    ecs.release();
    await stopping;
    await vi.waitFor(() => expect(ecs.landed.at(-1)).toEqual({ by: 'task', count: 1 }), PATIENCE);
    expect(ecs.landed.map((call) => call.count)).toEqual([1, 0, 1]);
    expect(ecs.desired).toBe(1);
  });

  it('asks for the task back when woken after its scale-down landed but before ECS stopped it', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    advance(IDLE_MS);
    await shutdown.check();
    expect(ecs.desired).toBe(0);
    advance(5_000);
    expect((await probe()).status).toBe(503);
    await vi.waitFor(() => expect(ecs.desired).toBe(1), PATIENCE);
  });

  it('asks for nothing more when nothing happens after its decision, and decides anew if it is still running a window later', async () => {
    const { shutdown, ecs, advance } = setup();
    advance(IDLE_MS);
    await shutdown.check();
    for (let checks = 0; checks < 10; checks++) {
      advance(30_000);
      await shutdown.check();
    }
    expect(ecs.landed).toEqual([{ by: 'task', count: 0 }]);
    advance(IDLE_MS);
    await shutdown.check(); // someone else's 1 kept it running: it is idle, so it stops again
    expect(ecs.landed).toEqual([{ by: 'task', count: 0 }, { by: 'task', count: 0 }]);
  });

  it('keeps serving when its scale-down fails, and tries again at the next check', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    advance(IDLE_MS);
    ecs.failNext();
    await shutdown.check();
    expect(ecs.desired).toBe(1);
    expect((await probe()).status).toBe(200);
    advance(IDLE_MS);
    await shutdown.check();
    expect(ecs.desired).toBe(0);
  });

  it('retries a failed return to 1 at every check until it lands', async () => {
    const { shutdown, ecs, advance, probe, logs } = setup();
    advance(IDLE_MS);
    await shutdown.check();
    ecs.failNext(2);
    await probe();
    await vi.waitFor(() => expect(logs).toContain('could not scale the upload endpoint back up; retrying at the next check'), PATIENCE);
    await shutdown.check(); // fails again
    expect(ecs.desired).toBe(0);
    await shutdown.check();
    expect(ecs.desired).toBe(1);
    expect((await probe()).status).toBe(200);
  });

  it('while draining (SIGTERM), answers the probe 503 and scales nothing', async () => {
    const { shutdown, ecs, advance, probe } = setup();
    shutdown.drain();
    expect((await probe()).status).toBe(503);
    advance(IDLE_MS * 2);
    await shutdown.check();
    expect(ecs.landed).toEqual([]);
  });
});
