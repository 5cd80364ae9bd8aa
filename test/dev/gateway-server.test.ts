import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { API_GATEWAY_MAX_BODY_BYTES, MAX_LAMBDA_BODY_BYTES } from '../../functions/adapters/apigw/limits';
import { startGatewayServer, type GatewayLimits, type LambdaHandler, type RunningGateway } from '../../functions/dev/gateway-server';

const fn = { functionName: 'test-fn', memoryLimitInMB: 1024, region: 'us-east-1', accountId: '000000000000' };
let running: RunningGateway | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function gateway(handler: LambdaHandler, limits?: Partial<GatewayLimits>): Promise<string> {
  running = await startGatewayServer({ handler, host: '127.0.0.1', port: 0, function: fn, ...(limits ? { limits } : {}) });
  return running.url;
}

/** A gateway whose function records the event and answers 200. */
async function recording(): Promise<{ url: string; events: APIGatewayProxyEventV2[] }> {
  const events: APIGatewayProxyEventV2[] = [];
  const url = await gateway(async (event) => {
    events.push(event);
    return { statusCode: 200, body: '' };
  });
  return { url, events };
}

/** node:http, so headers can repeat and the path is sent exactly as written. */
function rawRequest(url: string, method: string, path: string, rawHeaders: [string, string][], body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const headers = [['Host', `${hostname}:${port}`], ...rawHeaders].flat();
    const req = httpRequest({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the API Gateway stand-in builds payload 2.0 events', () => {
  it('with the raw path and query, lower-cased headers with repeats joined, cookies split out', async () => {
    const { url, events } = await recording();
    const response = await rawRequest(url, 'GET', '/v2/team/app/blobs/sha256:ab%3Acd?digest=sha256%3Aab&n=1&n=2', [
      ['Accept', 'application/vnd.oci.image.index.v1+json'], ['Accept', 'application/json'],
      ['Cookie', 'a=1; b=2'], ['X-Custom', 'v'],
    ]);
    expect(response.status).toBe(200);
    const event = events[0]!;
    expect(event).toMatchObject({
      version: '2.0', routeKey: '$default', rawPath: '/v2/team/app/blobs/sha256:ab%3Acd', rawQueryString: 'digest=sha256%3Aab&n=1&n=2',
      cookies: ['a=1', 'b=2'], queryStringParameters: { digest: 'sha256:ab', n: '1,2' }, isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({ accept: 'application/vnd.oci.image.index.v1+json,application/json', 'x-custom': 'v', 'x-forwarded-proto': 'http' });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.requestContext).toMatchObject({ stage: '$default', routeKey: '$default', http: { method: 'GET', path: '/v2/team/app/blobs/sha256:ab%3Acd' } });
    expect(response.headers['apigw-requestid']).toBe(event.requestContext.requestId);
    expect(event).not.toHaveProperty('body');
  });

  it('base64-encodes binary bodies and passes JSON as text', async () => {
    const { url, events } = await recording();
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await fetch(`${url}/v2/a/blobs/uploads/x`, { method: 'PATCH', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    await fetch(`${url}/v2/a/manifests/v1`, { method: 'PUT', body: '{"a":"\u00e9"}', headers: { 'content-type': 'application/json' } });
    await fetch(`${url}/v2/a/manifests/v2`, { method: 'PUT', body: '{"b":1}', headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    expect(events[0]).toMatchObject({ isBase64Encoded: true, body: Buffer.from(bytes).toString('base64') });
    expect(events[1]).toMatchObject({ isBase64Encoded: false, body: '{"a":"\u00e9"}' });
    expect(events[2]).toMatchObject({ isBase64Encoded: true, body: Buffer.from('{"b":1}').toString('base64') });
  });
});

describe('the API Gateway stand-in sends results back', () => {
  it('decoding base64 bodies, turning cookies into Set-Cookie and setting Content-Length', async () => {
    const url = await gateway(async () => ({
      statusCode: 206, isBase64Encoded: true, body: Buffer.from([0, 1, 2, 255]).toString('base64'),
      headers: { 'Content-Type': 'application/octet-stream', 'content-length': '999' }, cookies: ['a=1', 'b=2'],
    }));
    const response = await rawRequest(url, 'GET', '/x', []);
    expect(response.status).toBe(206);
    expect([...response.body]).toEqual([0, 1, 2, 255]);
    expect(response.headers['content-length']).toBe('4');
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('keeping a HEAD answer\'s Content-Length', async () => {
    const url = await gateway(async () => ({ statusCode: 200, headers: { 'content-length': '1234' }, body: '' }));
    const response = await rawRequest(url, 'HEAD', '/v2/a/blobs/sha256:00', []);
    expect(response.headers['content-length']).toBe('1234');
    expect(response.body.byteLength).toBe(0);
  });

  it('answering a bare string result as a 200 JSON body, as payload 2.0 infers', async () => {
    const url = await gateway(async () => 'hello' as APIGatewayProxyResultV2);
    const response = await fetch(`${url}/x`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('hello');
  });
});

describe('the API Gateway stand-in enforces API Gateway and Lambda limits', () => {
  it('answers a body over 10 MB with 413 without invoking the function', async () => {
    const { url, events } = await recording();
    const response = await fetch(`${url}/v2/a/blobs/uploads/x`, { method: 'PATCH', body: new Uint8Array(API_GATEWAY_MAX_BODY_BYTES + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(events).toHaveLength(0);
  });

  it('answers an event over Lambda\'s 6 MB with 413 without invoking the function', async () => {
    const { url, events } = await recording();
    const body = new Uint8Array(5 * 1024 * 1024); // ~6.7 MB once base64-encoded
    const response = await fetch(`${url}/v2/a/blobs/uploads/x`, { method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Too Long' });
    expect(events).toHaveLength(0);
  });

  it('passes a binary body of the advertised chunk limit to the function', async () => {
    const { url, events } = await recording();
    const response = await fetch(`${url}/v2/a/blobs/uploads/x`, { method: 'PATCH', body: new Uint8Array(MAX_LAMBDA_BODY_BYTES), headers: { 'content-type': 'application/octet-stream', 'user-agent': 'x'.repeat(4000) } });
    expect(response.status).toBe(200);
    expect(Buffer.from(events[0]!.body!, 'base64').byteLength).toBe(MAX_LAMBDA_BODY_BYTES);
  });

  it('gives up on a function that runs past the integration timeout with 503', async () => {
    let finish: () => void = () => undefined;
    const url = await gateway(() => new Promise((resolve) => { finish = () => resolve({ statusCode: 200, body: 'late' }); }), { timeoutMs: 100 });
    const response = await fetch(`${url}/v2/`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
    finish();
  });

  it('answers a function error with 500, as API Gateway does', async () => {
    const url = await gateway(async () => { throw new Error('boom'); });
    const response = await fetch(`${url}/v2/`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });
});
