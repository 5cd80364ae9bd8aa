import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendQuery, ConformanceClient } from './client';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The port is only as faithful as its client: these pin the reggie / resty / Go net/http
 * behaviours the conformance specs depend on, against a scripted server.
 */
describe('conformance client (reggie on the wire)', () => {
  const seen: Seen[] = [];
  let server: Server;
  let other: Server;
  let root: string;
  let otherPort: number;

  beforeAll(async () => {
    other = createServer((request, response) => {
      seen.push({ method: request.method!, url: `other${request.url}`, headers: request.headers, body: '' });
      response.writeHead(200).end('blob');
    });
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({ method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString() });
        const url = new URL(request.url!, 'http://x');
        if (url.pathname === '/token') return response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"access_token":"tok"}');
        if (request.headers.authorization !== 'Bearer tok') {
          return response.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${root}/token",service="svc",scope="repository:a/b:pull,push repository:c:pull"` }).end();
        }
        if (url.pathname === '/v2/a/b/blobs/x') return response.writeHead(307, { Location: `http://127.0.0.1:${otherPort}/presigned?X-Amz-Signature=s` }).end();
        response.writeHead(202, { Location: `http://elsewhere.invalid:9/v2/a/b/blobs/uploads/u%3A1?_state=s%2Bt` }).end();
      });
    });
    await Promise.all([server, other].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    otherPort = (other.address() as AddressInfo).port;
  });

  afterAll(() => {
    server.close();
    other.close();
  });

  const client = () => new ConformanceClient({ rootUrl: root, defaultName: 'a/b', username: 'u', password: 'p' });

  it('sends every request without credentials first, fetches a token for the challenge scope, and resends the body', async () => {
    seen.length = 0;
    const response = await client().request('PUT', '/v2/<name>/manifests/t', { headers: { 'Content-Type': 'x/y' }, body: new TextEncoder().encode('{}') });
    expect(response.status).toBe(202);
    expect(seen.map((s) => `${s.method} ${s.url.split('?')[0]} ${s.headers.authorization ?? '-'} ${s.body}`)).toEqual([
      'PUT /v2/a/b/manifests/t - {}', `GET /token Basic ${Buffer.from('u:p').toString('base64')} `, 'PUT /v2/a/b/manifests/t Bearer tok {}',
    ]);
    const token = new URL(seen[1]!.url, 'http://x').searchParams;
    expect(token.get('scope')).toBe('repository:a/b:pull,push repository:c:pull');
    expect(token.get('service')).toBe('svc');
    expect(seen[0]!.headers['user-agent']).toBe('distribution-spec-conformance-tests');
    expect(seen[0]!.headers['accept-encoding']).toBeUndefined();
  });

  it('keeps no token between requests', async () => {
    seen.length = 0;
    const c = client();
    await c.request('POST', '/v2/<name>/blobs/uploads/');
    await c.request('POST', '/v2/<name>/blobs/uploads/');
    expect(seen.filter((s) => s.url.startsWith('/token'))).toHaveLength(2);
  });

  it('sends Content-Length: 0 on a bodiless POST or PUT, and no body on GET', async () => {
    seen.length = 0;
    await client().request('PUT', '/v2/<name>/blobs/uploads/u', { headers: { 'Content-Length': '42' } });
    await client().request('GET', '/v2/<name>/manifests/t', { headers: { 'Content-Type': 'x/y' }, body: new TextEncoder().encode('blablabla') });
    expect(seen[0]!.headers['content-length']).toBe('0');
    const get = seen.find((s) => s.method === 'GET' && s.url.startsWith('/v2'))!;
    expect(get.headers['content-length']).toBeUndefined();
    expect(get.headers['content-type']).toBe('x/y');
    expect(get.body).toBe('');
  });

  it('follows a Location relatively (its path and raw query on the root URL), appending query parameters with &', async () => {
    const response = await client().request('POST', '/v2/<name>/blobs/uploads/');
    expect(response.relativeLocation()).toBe('/v2/a/b/blobs/uploads/u:1?_state=s%2Bt');
    expect(appendQuery(`${root}${response.relativeLocation()}`, { digest: 'sha256:ab', from: 'a/b' })).toBe(`${root}/v2/a/b/blobs/uploads/u:1?_state=s%2Bt&digest=sha256%3Aab&from=a%2Fb`);
  });

  it('keeps Authorization on a redirect to the same host name on another port, as Go does', async () => {
    seen.length = 0;
    const response = await client().request('GET', '/v2/<name>/blobs/x');
    expect(response.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('other/presigned?X-Amz-Signature=s');
    expect(seen.at(-1)!.headers.authorization).toBe('Bearer tok');
  });
});
