import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningServer } from '../../functions/adapters/node-http/server';
import { REQUEST_TARGET_HEADER } from '../../functions/core/http/headers';
import type { Logger } from '../../functions/core/index';
import { sendRaw } from '../support/raw-http';

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close(0);
  server = undefined;
});

async function serve(fetch: (request: Request) => Promise<Response>, logger: Logger = { log() {} }): Promise<RunningServer> {
  server = await startHttpServer({ fetch, logger, host: '127.0.0.1', port: 0 });
  return server;
}

describe('the node:http transport', () => {
  it('hands the core the request-target exactly as sent, whatever the client put in the header', async () => {
    const { url } = await serve(async (request) => new Response(request.headers.get(REQUEST_TARGET_HEADER)));
    const host = new URL(url).host;
    const spoofed = await sendRaw(url, `GET /v2/a/x/../b/tags/list?n=1 HTTP/1.1\r\nHost: ${host}\r\n${REQUEST_TARGET_HEADER}: /v2/a/b/tags/list\r\nConnection: close\r\n\r\n`);
    expect(spoofed.body.toString()).toBe('/v2/a/x/../b/tags/list?n=1');
    const absolute = await sendRaw(url, `GET http://${host}/v2/%2e%2e/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(absolute.body.toString()).toBe('/v2/%2e%2e/x');
  });

  it('renders a failure of the handler through the core\'s renderer, naming only the request id', async () => {
    const { url } = await serve(async () => {
      throw new Error('boom in /srv/secret/path.ts');
    });
    const response = await fetch(`${url}/v2/`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { requestId: expect.any(String) } }] });
  });

  it('finishes a request whose client left before the answer (no request stays in flight forever)', async () => {
    let logged: (fields: Record<string, unknown>) => void = () => undefined;
    const requestLogged = new Promise<Record<string, unknown>>((resolve) => (logged = resolve));
    const logger: Logger = { log: (_level, message, fields) => message === 'request' && logged(fields ?? {}) };
    // Answers only once the client is gone, so the answer meets a closed socket.
    const { url } = await serve((request) => new Promise((resolve) => {
      request.signal.addEventListener('abort', () => resolve(new Response('too late')));
    }), logger);
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => {
      socket.end(`GET /v2/ HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('error', () => undefined);
    expect(await requestLogged).toMatchObject({ method: 'GET', path: '/v2/', status: 200, bytesOut: 0 });
  });
});
