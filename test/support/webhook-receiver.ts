import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
}
