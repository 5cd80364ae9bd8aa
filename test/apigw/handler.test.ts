import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGatewayHandler, LAMBDA_MAX_RESPONSE_BYTES, type ApiGatewayHandler } from '../../functions/adapters/apigw/index';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { createRegistry, type Logger } from '../../functions/core/index';
import { apiGatewayEvent } from './events';

const quiet: Logger = { log() {} };

describe('createApiGatewayHandler', () => {
  it('hands the core API Gateway\'s request id', async () => {
    let seen: string | null = null;
    const handler = createApiGatewayHandler({ logger: quiet, fetch: async (request) => { seen = request.headers.get('x-request-id'); return new Response(null, { status: 204 }); } });
    await handler(apiGatewayEvent({ requestId: 'apigw-42', headers: { 'x-request-id': 'spoofed' } }));
    expect(seen).toBe('apigw-42');
  });

  it('answers a failure in spec JSON naming the request id', async () => {
    const handler = createApiGatewayHandler({ logger: quiet, fetch: async () => { throw new Error('boom'); } });
    const result = await handler(apiGatewayEvent({ requestId: 'apigw-7' }));
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body!)).toEqual({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail: { requestId: 'apigw-7' } }] });
  });

  it('answers an event the adapter refuses with the core\'s spec error, without calling the core', async () => {
    let called = false;
    const handler = createApiGatewayHandler({ logger: quiet, fetch: async () => { called = true; return new Response(null, { status: 204 }); } });
    const result = await handler(apiGatewayEvent({ method: 'TRACE', requestId: 'apigw-9' }));
    expect(result.statusCode).toBe(405);
    expect(result.headers).toMatchObject({ allow: expect.stringContaining('GET'), 'docker-distribution-api-version': 'registry/2.0' });
    expect(JSON.parse(result.body!).errors[0].code).toBe('UNSUPPORTED');
    expect(called).toBe(false);
  });

  it('refuses, in spec JSON, a response larger than Lambda can return', async () => {
    const big = new Uint8Array(LAMBDA_MAX_RESPONSE_BYTES);
    const handler = createApiGatewayHandler({ logger: quiet, fetch: async () => new Response(big, { headers: { 'content-type': 'application/octet-stream' } }) });
    const result = await handler(apiGatewayEvent());
    expect(result.statusCode).toBe(500);
    expect(JSON.parse(result.body!).errors[0].message).toMatch(/larger than a Lambda function can return/);
  });

  it('logs the path but never the query, which carries upload capabilities', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger: Logger = { log: (_level, _message, fields) => lines.push(fields ?? {}) };
    const handler = createApiGatewayHandler({ logger, fetch: async () => new Response(null, { status: 202 }) });
    await handler(apiGatewayEvent({ method: 'PATCH', rawPath: '/v2/a/blobs/uploads/u1', rawQueryString: '_state=secret-token' }), { awsRequestId: 'lambda-1' });
    expect(JSON.stringify(lines)).not.toContain('secret-token');
    expect(lines).toContainEqual(expect.objectContaining({ path: '/v2/a/blobs/uploads/u1', status: 202, lambdaRequestId: 'lambda-1' }));
  });
});

describe('the registry core behind API Gateway events', () => {
  let dir: string;
  let handler: ApiGatewayHandler;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-apigw-'));
    const blobs = new FsBlobStore(dir, { fsync: false });
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await Promise.all([blobs.init(), metadata.init()]);
    const registry = createRegistry({ blobs, metadata, config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 0, maxRequestBodyBytes: 1024 } });
    handler = createApiGatewayHandler({ fetch: registry.fetch, logger: quiet });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('uploads a binary blob in chunks, then serves HEAD from metadata and GET as base64', async () => {
    const blob = Uint8Array.from({ length: 1500 }, (_, i) => (i * 7) % 256);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

    const started = await handler(apiGatewayEvent({ method: 'POST', rawPath: '/v2/team/app/blobs/uploads/' }));
    expect(started.statusCode).toBe(202);
    expect(started.headers!['oci-chunk-max-length']).toBe('1024');
    let location = new URL(String(started.headers!.location), 'https://x');

    for (const [start, end] of [[0, 999], [1000, 1499]] as const) {
      const chunk = blob.subarray(start, end + 1);
      const patched = await handler(apiGatewayEvent({
        method: 'PATCH', rawPath: location.pathname, rawQueryString: location.search.slice(1), body: chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': String(chunk.length) },
      }));
      expect(patched.statusCode).toBe(202);
      location = new URL(String(patched.headers!.location), 'https://x');
    }
    const done = await handler(apiGatewayEvent({
      method: 'PUT', rawPath: location.pathname, rawQueryString: `${location.search.slice(1)}&digest=${encodeURIComponent(digest)}`,
    }));
    expect(done.statusCode).toBe(201);

    const blobPath = `/v2/team/app/blobs/${digest}`;
    const head = await handler(apiGatewayEvent({ method: 'HEAD', rawPath: blobPath }));
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(head.headers).toMatchObject({ 'content-length': '1500', 'docker-content-digest': digest });

    const get = await handler(apiGatewayEvent({ method: 'GET', rawPath: blobPath }));
    expect(get.statusCode).toBe(200);
    expect(get.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(get.body!, 'base64'))).toEqual(blob);
  });

  it('answers a body over the advertised limit with 413 in spec JSON', async () => {
    const started = await handler(apiGatewayEvent({ method: 'POST', rawPath: '/v2/team/app/blobs/uploads/' }));
    const location = new URL(String(started.headers!.location), 'https://x');
    const patched = await handler(apiGatewayEvent({
      method: 'PATCH', rawPath: location.pathname, rawQueryString: location.search.slice(1), body: new Uint8Array(1025),
      headers: { 'content-type': 'application/octet-stream' },
    }));
    expect(patched.statusCode).toBe(413);
    expect(JSON.parse(patched.body!).errors[0].code).toBe('SIZE_INVALID');
  });
});
