import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededBlob } from '../../cli/doctor/bodies';
import { diagnose } from '../../cli/doctor/diagnosis';
import { closeConnections, exchange, type Exchange } from '../../cli/doctor/http';
import type { Observation } from '../../cli/doctor/observation';
import { freePort } from '../../harness/net';

const MiB = 1024 * 1024;
const servers: Server[] = [];

afterEach(async () => {
  closeConnections();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  })));
});

/** A server on an ephemeral port that answers with `handle`. */
async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handle);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Reads `limit` bytes of a request body, then calls `then` (which answers early). The rest
 * is read and dropped, as proxies do (a "lingering close"): closing on unread bytes makes
 * TCP reset the connection, which can destroy the early answer before the client reads it.
 */
function readUpTo(request: IncomingMessage, limit: number, then: () => void): void {
  let seen = 0;
  let done = false;
  request.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (done || seen < limit) return;
    done = true;
    then();
  });
  request.on('end', () => {
    if (!done) then();
  });
}

const observe = (result: Exchange, role: Observation['role'] = 'upload'): Observation => ({
  role, doing: 'the request under test', exchange: result, idleTimeoutMs: 500, login: 'admin', repository: 'nimbus-doctor/t', registryHost: 'registry', registryFront: 'direct',
});

const streamed = (blob: SeededBlob, sized: boolean) => ({ kind: 'stream' as const, length: blob.size, sized, chunks: blob.chunks() });

describe('nimbus doctor: generated bodies', () => {
  it('regenerates any byte range exactly, in chunks of at most 1 MiB', async () => {
    const blob = new SeededBlob('ranges', 3 * MiB + 7);
    const whole: Buffer[] = [];
    for await (const chunk of blob.chunks()) {
      expect(chunk.length).toBeLessThanOrEqual(MiB);
      whole.push(chunk);
    }
    const all = Buffer.concat(whole);
    expect(all.length).toBe(blob.size);
    for (const [start, end] of [[0, 1], [5, 21], [15, 17], [MiB - 3, MiB + 40], [2 * MiB + 1, blob.size], [blob.size - 1, blob.size]] as const) {
      expect((await blob.slice(start, end)).equals(all.subarray(start, end)), `${start}-${end}`).toBe(true);
    }
    expect(await blob.digest()).toBe(`sha256:${createHash('sha256').update(all).digest('hex')}`);
    expect((await new SeededBlob('other seed', 64).slice(0, 64)).equals(all.subarray(0, 64))).toBe(false);
  });

  it('hashes a body as it streams, and knows its digest only once it went whole', async () => {
    const blob = new SeededBlob('hashed', 2 * MiB + 5);
    const stream = blob.hashedStream();
    expect(() => stream.digest()).toThrow(/not sent whole/);
    for await (const chunk of stream.chunks) expect(chunk.length).toBeGreaterThan(0);
    expect(stream.digest()).toBe(await new SeededBlob('hashed', 2 * MiB + 5).digest());
  });
});

describe('nimbus doctor: requests as docker and skopeo send them', () => {
  it('streams a chunked PATCH with no Content-Length, and a sized one with it', async () => {
    const seen: Array<{ encoding: string | undefined; length: string | undefined; digest: string }> = [];
    const url = await serve((request, response) => {
      const hash = createHash('sha256');
      request.on('data', (chunk: Buffer) => hash.update(chunk));
      request.on('end', () => {
        seen.push({ encoding: request.headers['transfer-encoding'], length: request.headers['content-length'], digest: `sha256:${hash.digest('hex')}` });
        response.writeHead(202, { location: '/next' }).end();
      });
    });
    const blob = new SeededBlob('patch', 5 * MiB + 3);
    const chunked = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 30_000 });
    const sized = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, true), idleTimeoutMs: 30_000 });
    expect(seen).toEqual([
      { encoding: 'chunked', length: undefined, digest: await blob.digest() },
      { encoding: undefined, length: String(blob.size), digest: await blob.digest() },
    ]);
    for (const result of [chunked, sized]) {
      expect(result).toMatchObject({ status: 202, bytesSent: blob.size, bodyBytes: blob.size, headers: { location: '/next' } });
      expect(result.failure).toBeUndefined();
      expect(result.bodySentAtMs).toBeDefined();
    }
  });

  it('streams a large body with bounded memory (the 2 GiB check must not need 2 GiB)', async () => {
    let received = 0;
    const url = await serve((request, response) => {
      request.on('data', (chunk: Buffer) => (received += chunk.length));
      request.on('end', () => response.writeHead(202).end());
    });
    const blob = new SeededBlob('memory', 512 * MiB);
    const before = process.memoryUsage().rss;
    let peak = before;
    const result = await exchange({
      method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 60_000,
      onBytesSent: () => (peak = Math.max(peak, process.memoryUsage().rss)),
    });
    expect(result.status).toBe(202);
    expect(received).toBe(blob.size);
    expect(peak - before).toBeLessThan(192 * MiB);
  }, 120_000);
});

describe('nimbus doctor: what a broken path looks like, and what the table says about it', () => {
  it('connection refused at the upload host: the upload endpoint is down', async () => {
    const port = await freePort();
    const result = await exchange({ method: 'GET', url: new URL(`http://127.0.0.1:${port}/v2/x/blobs/uploads/1`), idleTimeoutMs: 5_000 });
    expect(result.failure).toMatchObject({ kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' });
    expect(diagnose(observe(result))).toMatchObject({ id: 'upload-endpoint-down', cause: expect.stringContaining('connection refused at the upload host') });
  });

  it('an upload endpoint that takes the connection and never answers: hung, after the timeout', async () => {
    const url = await serve(() => undefined);
    const result = await exchange({ method: 'GET', url: new URL(url), idleTimeoutMs: 500 });
    expect(result.failure).toMatchObject({ kind: 'timeout', phase: 'wait' });
    expect(result.status).toBeUndefined();
    expect(diagnose(observe(result))).toMatchObject({ id: 'upload-endpoint-hung', cause: expect.stringContaining('accepted the connection but sent no answer') });
  });

  it('an upload endpoint that stops reading the body: the timeout names how far it got', async () => {
    const url = await serve((request) => request.pause());
    const blob = new SeededBlob('stalled', 64 * MiB);
    const result = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 500 });
    expect(result.failure).toMatchObject({ kind: 'timeout', phase: 'send' });
    expect(result.bytesSent).toBeLessThan(blob.size);
    expect(diagnose(observe(result)).cause).toMatch(/stopped taking the body after [\d.]+ MiB of 64\.0 MiB/);
  });

  it('CloudFront answering 504 while a chunked body still streams', async () => {
    const url = await serve((request, response) => readUpTo(request, 2 * MiB, () => {
      response.writeHead(504, { 'content-type': 'text/html', server: 'CloudFront', via: '1.1 abc.cloudfront.net (CloudFront)', 'x-amz-cf-id': 'id==' });
      response.end('<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>504 Gateway Timeout ERROR</H1></BODY></HTML>');
    }));
    const blob = new SeededBlob('cloudfront', 100 * MiB);
    const result = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 30_000 });
    expect(result.failure).toBeUndefined();
    expect(result).toMatchObject({ status: 504, bodyBytes: blob.size });
    expect(result.bytesSent).toBeLessThan(blob.size);
    expect(diagnose(observe(result))).toMatchObject({ id: 'cloudfront-504-mid-body', cause: expect.stringMatching(/^CloudFront answered 504 after .* while the body was still streaming/) });
  });

  it('API Gateway refusing a big body with 413 before it is all sent: uploads go through the function', async () => {
    const url = await serve((request, response) => readUpTo(request, MiB, () => {
      response.writeHead(413, { 'content-type': 'application/json', 'apigw-requestid': 'abc=' });
      response.end('{"message":"Request Entity Too Large"}');
    }));
    const blob = new SeededBlob('apigw', 32 * MiB);
    const result = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 30_000 });
    expect(result).toMatchObject({ status: 413 });
    expect(result.failure).toBeUndefined();
    expect(diagnose(observe(result, 'registry'))).toMatchObject({ id: 'upload-through-function', cause: expect.stringContaining('413 from API Gateway (Request Entity Too Large)') });
  });

  it('a connection cut mid-body is a reset, with the bytes sent', async () => {
    const url = await serve((request) => readUpTo(request, MiB, () => request.socket.resetAndDestroy()));
    const blob = new SeededBlob('reset', 32 * MiB);
    const result = await exchange({ method: 'PATCH', url: new URL(url), body: streamed(blob, false), idleTimeoutMs: 30_000 });
    expect(result.failure).toMatchObject({ kind: 'reset', phase: 'send' });
    expect(diagnose(observe(result))).toMatchObject({ id: 'connection-reset', cause: expect.stringMatching(/closed the connection after [\d.]+ MiB of 32\.0 MiB/) });
  });

  it('HTTPS spoken to a plain-HTTP server is a TLS error that says so', async () => {
    const url = new URL(await serve((_, response) => response.end('hello')));
    url.protocol = 'https:';
    const result = await exchange({ method: 'GET', url, idleTimeoutMs: 5_000 });
    expect(result.failure?.kind).toBe('tls');
    expect(diagnose(observe(result, 'registry'))).toMatchObject({ id: 'tls', cause: expect.stringContaining('plain HTTP') });
  });
});
