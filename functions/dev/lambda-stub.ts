import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import type { Logger } from '../core/index';

export type AsyncHandler = (event: unknown, context: Context) => Promise<void>;

export interface LambdaStub {
  readonly endpoint: string;
  /** Resolves when every invocation started so far has finished (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Lambda's Invoke API for asynchronous invocations (InvocationType Event), answered locally
 * for dev:aws: 202 at once, then the named function's real handler runs in this process,
 * as Lambda would run it in another container.
 */
export async function startLambdaStub(functions: ReadonlyMap<string, () => Promise<AsyncHandler>>, log: Logger['log']): Promise<LambdaStub> {
  const running = new Set<Promise<void>>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      const load = match ? functions.get(decodeURIComponent(match[1]!)) : undefined;
      if (!match || !load) return reply(404, { Type: 'User', message: `dev:aws has no function at ${req.url}` });
      if (req.headers['x-amz-invocation-type'] !== 'Event') return reply(400, { Type: 'User', message: 'dev:aws answers asynchronous (Event) invocations only' });
      let event: unknown;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, { Type: 'User', message: 'payload is not JSON' });
      }
      reply(202);
      const name = decodeURIComponent(match[1]!);
      const run = load()
        .then((handler) => handler(event, { functionName: name, awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 900_000 } as Context))
        .catch((error: unknown) => log('error', 'async invocation failed', { function: name, error: error instanceof Error ? error.message : String(error) }))
        .finally(() => running.delete(run));
      running.add(run);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    idle: async () => {
      await Promise.all([...running]);
    },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
