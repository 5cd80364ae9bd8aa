import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import type { CloudEvent } from '../../functions/core/events/cloud-events';

/** A webhook receiver that checks each signature as the README's example does, and can go down and come back on its port. */
export class WebhookReceiver {
  readonly events: Array<CloudEvent & { verified: boolean }> = [];
  private server: Server | undefined;
  private waiters: Array<() => void> = [];
  port = 0;

  constructor(private readonly secret: string) {}

  async up(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const [t, v1] = String(request.headers['nimbus-signature']).split(',').map((part) => part.split('=')[1] ?? '');
        const expected = createHmac('sha256', this.secret).update(`${t}.${body}`).digest('hex');
        const verified = v1!.length === expected.length && timingSafeEqual(Buffer.from(v1!), Buffer.from(expected));
        this.events.push({ ...(JSON.parse(body) as CloudEvent), verified });
        response.end('ok');
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async down(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Resolves once `done` holds, checked after each event that arrives. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  tagsOf(repository: string): string[] {
    return this.events.filter((event) => event.data.repository === repository && event.type === 'io.nimbus.manifest.pushed').map((event) => event.data.tag!);
  }

  /** Tags pushed to `repository` in the order their events first arrived (delivery is at least once: repeats allowed). */
  firstArrivals(repository: string): string[] {
    return [...new Map(this.events
      .filter((event) => event.data.repository === repository && event.type === 'io.nimbus.manifest.pushed')
      .map((event) => [event.id, event.data.tag!])).values()];
  }

  /**
   * Issue 13's acceptance scenario: the receiver down for `downForMs` while pushes go on
   * throughout (one every ~2 s, round the repositories, paced by the clock: nothing waits on the
   * registry), then up again. Before it comes back, the registry's own record of the first push's
   * delivery (`deliveryOf`) must show it still owed and tried at least twice, and nothing arrived.
   * Returns the tags pushed per repository, in push order.
   */
  async outage(downForMs: number, repositories: readonly string[], push: (repository: string, tag: string) => Promise<unknown>,
    deliveryOf: (tag: string) => Promise<{ state: string; attempts: number } | undefined>): Promise<Map<string, string[]>> {
    await this.down();
    const upAt = Date.now() + downForMs;
    const pushed = new Map<string, string[]>(repositories.map((repository) => [repository, []]));
    for (let i = 0; Date.now() < upAt; i++) {
      const repository = repositories[i % repositories.length]!;
      await push(repository, `t${i}`);
      pushed.get(repository)!.push(`t${i}`);
      await delay(Math.max(0, Math.min(2000, upAt - Date.now())));
    }
    const first = await deliveryOf('t0');
    expect(first).toMatchObject({ state: 'pending' });
    expect(first!.attempts).toBeGreaterThanOrEqual(2);
    expect(this.firstArrivals(repositories[0]!)).toEqual([]);
    await this.up();
    return pushed;
  }

  /** Resolves once every pushed tag's event has arrived; asserts they came in push order per repository, all signed. */
  async expectInOrder(pushed: ReadonlyMap<string, readonly string[]>): Promise<void> {
    await this.until(() => [...pushed].every(([repository, tags]) => this.firstArrivals(repository).length === tags.length));
    for (const [repository, tags] of pushed) expect(this.firstArrivals(repository)).toEqual(tags);
    expect(this.events.every((event) => event.verified)).toBe(true);
  }
}

