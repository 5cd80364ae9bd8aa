import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the proxy forwarded. */
export interface SeenRequest {
  method: string;
  path: string;
  status: number;
}

/**
 * An HTTP proxy in front of an upstream registry, for pull-through cache tests: it records every
 * request (so a test can count upstream blob GETs), can drop every connection (the upstream is
 * down), and can hold a blob's body after its first bytes until the test releases it.
 */
export class CountingProxy {
  readonly seen: SeenRequest[] = [];
  /** While true, every request's connection is destroyed: the upstream is unreachable. */
  down = false;
  private readonly holds = new Map<string, { reached: () => void; release: Promise<void> }>();
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(target: string): Promise<CountingProxy> {
    const handler: { proxy?: CountingProxy } = {};
    const server = createServer((req, res) => handler.proxy!.forward(req, res, new URL(target)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CountingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    handler.proxy = proxy;
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    return proxy;
  }

  /** Requests seen with this method whose path contains `part`. */
  count(method: string, part: string): number {
    return this.seen.filter((each) => each.method === method && each.path.includes(part)).length;
  }

  /**
   * Holds the body of the next GET of a path containing `part` once `afterBytes` have been sent.
   * `reached` resolves when the hold begins; calling `release` sends the rest.
   */
  hold(part: string, afterBytes: number): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => { reached = resolve; });
    const releasePromise = new Promise<void>((resolve) => { release = resolve; });
    this.holds.set(part, { reached, release: releasePromise });
    this.holdAfter.set(part, afterBytes);
    return { reached: reachedPromise, release };
  }

  private readonly holdAfter = new Map<string, number>();

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse, target: URL): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const path = req.url ?? '/';
    const entry: SeenRequest = { method: req.method ?? 'GET', path, status: 0 };
    this.seen.push(entry);
    const headers = { ...req.headers, host: target.host };
    const outgoing = httpRequest({ host: target.hostname, port: target.port, method: req.method, path, headers }, (upstream) => {
      entry.status = upstream.statusCode ?? 0;
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      const part = req.method === 'GET' ? [...this.holds.keys()].find((key) => path.includes(key)) : undefined;
      if (part === undefined) return void upstream.pipe(res);
      const hold = this.holds.get(part)!;
      this.holds.delete(part);
      void this.relayWithHold(upstream, res, this.holdAfter.get(part) ?? 0, hold);
    });
    outgoing.on('error', () => res.destroy());
    req.pipe(outgoing);
  }

  private async relayWithHold(upstream: IncomingMessage, res: ServerResponse, afterBytes: number, hold: { reached: () => void; release: Promise<void> }): Promise<void> {
    let sent = 0;
    let held = false;
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      if (!held && sent + chunk.byteLength > afterBytes) {
        const head = chunk.subarray(0, Math.max(0, afterBytes - sent));
        if (head.byteLength > 0) res.write(head);
        sent += head.byteLength;
        held = true;
        hold.reached();
        await hold.release;
        res.write(chunk.subarray(head.byteLength));
        sent += chunk.byteLength - head.byteLength;
        continue;
      }
      res.write(chunk);
      sent += chunk.byteLength;
    }
    res.end();
  }
}
