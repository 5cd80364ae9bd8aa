import { describe, expect, it } from 'vitest';
import { eventToRequest } from '../../functions/adapters/apigw/index';
import { CLIENT_ADDRESS_HEADER, REQUEST_TARGET_HEADER } from '../../functions/core/http/headers';
import { RegistryError } from '../../functions/core/index';
import { apiGatewayEvent } from './events';

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('eventToRequest', () => {
  it('decodes a base64 body to the exact bytes and states its length', async () => {
    const request = eventToRequest(apiGatewayEvent({ method: 'PATCH', body: allBytes }));
    expect(new Uint8Array(await request.arrayBuffer())).toEqual(allBytes);
    expect(request.headers.get('content-length')).toBe('256');
  });

  it('hands the decoded body over as one chunk, not copied again into the Request', async () => {
    const request = eventToRequest(apiGatewayEvent({ method: 'PATCH', body: allBytes }));
    const chunks: Uint8Array[] = [];
    for await (const chunk of request.body!) chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    expect(new Uint8Array(chunks[0]!)).toEqual(allBytes);
    // A Buffer: the very array the base64 decode produced (a copy would be a plain Uint8Array).
    expect(Buffer.isBuffer(chunks[0])).toBe(true);
  });

  it('reads a text body as UTF-8', async () => {
    const manifest = '{"name":"caf\u00e9 \u2603"}';
    const request = eventToRequest(apiGatewayEvent({ method: 'PUT', body: manifest, base64: false, headers: { 'content-type': 'application/json' } }));
    expect(await request.text()).toBe(manifest);
    expect(request.headers.get('content-length')).toBe(String(Buffer.byteLength(manifest)));
  });

  it('keeps the raw path and query exactly, colons and percent-escapes alike', () => {
    const rawPath = '/v2/team/app/blobs/sha256:0123abcd%3A';
    const rawQueryString = 'digest=sha256%3A0123&_state=a-b_c.d~e&n=1&n=2';
    const url = new URL(eventToRequest(apiGatewayEvent({ rawPath, rawQueryString })).url);
    expect(url.pathname).toBe(rawPath);
    expect(url.search).toBe(`?${rawQueryString}`);
    expect(url.searchParams.get('digest')).toBe('sha256:0123');
    expect(url.searchParams.getAll('n')).toEqual(['1', '2']);
  });

  it('builds the URL on the forwarded protocol and host', () => {
    const request = eventToRequest(apiGatewayEvent({ headers: { host: 'registry.example.com', 'x-forwarded-proto': 'https' } }));
    expect(request.url).toBe('https://registry.example.com/v2/');
  });

  it('passes repeated headers on as API Gateway joined them', () => {
    const request = eventToRequest(apiGatewayEvent({ headers: { accept: 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json' } }));
    expect(request.headers.get('accept')).toBe('application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json');
  });

  it('puts payload 2.0 cookies back into one Cookie header', () => {
    const request = eventToRequest(apiGatewayEvent({ cookies: ['a=1', 'b=2'] }));
    expect(request.headers.get('cookie')).toBe('a=1; b=2');
  });

  it('drops connection headers that described the hop to API Gateway', async () => {
    const request = eventToRequest(apiGatewayEvent({ method: 'PATCH', body: allBytes, headers: { 'transfer-encoding': 'chunked', connection: 'keep-alive' } }));
    expect(request.headers.get('transfer-encoding')).toBeNull();
    expect(request.headers.get('connection')).toBeNull();
    expect((await request.arrayBuffer()).byteLength).toBe(256);
  });

  it('gives HEAD and GET no body', () => {
    expect(eventToRequest(apiGatewayEvent({ method: 'HEAD', rawPath: '/v2/a/blobs/sha256:00' })).body).toBeNull();
    expect(eventToRequest(apiGatewayEvent({ method: 'GET', body: 'ignored', base64: false })).body).toBeNull();
  });

  it('treats an empty PATCH body as zero bytes', async () => {
    const request = eventToRequest(apiGatewayEvent({ method: 'PATCH', body: new Uint8Array(0) }));
    expect(request.headers.get('content-length')).toBe('0');
    expect((await request.arrayBuffer()).byteLength).toBe(0);
  });

  it('stamps the target as sent for the router, overwriting a client-sent value', () => {
    const request = eventToRequest(apiGatewayEvent({ rawPath: '/v2/a/x/../b/tags/list', rawQueryString: 'n=1', headers: { [REQUEST_TARGET_HEADER]: '/v2/a/b/tags/list' } }));
    expect(request.headers.get(REQUEST_TARGET_HEADER)).toBe('/v2/a/x/../b/tags/list?n=1');
  });

  it('refuses, as spec errors, what a Request cannot carry as sent', () => {
    const refusal = (init: Parameters<typeof apiGatewayEvent>[0]) => {
      try {
        eventToRequest(apiGatewayEvent(init));
      } catch (error) {
        expect(error).toBeInstanceOf(RegistryError);
        return `${(error as RegistryError).status} ${(error as RegistryError).code}`;
      }
      return 'accepted';
    };
    expect(refusal({ method: 'TRACE' })).toBe('405 UNSUPPORTED');
    expect(refusal({ method: 'get' })).toBe('405 UNSUPPORTED');
    expect(refusal({ headers: { host: 'a b' } })).toBe('400 UNSUPPORTED');
    expect(refusal({ headers: { host: 'a.example,b.example' } })).toBe('400 UNSUPPORTED');
    expect(refusal({ method: 'PATCH', body: allBytes, headers: { 'transfer-encoding': 'gzip, chunked' } })).toBe('400 UNSUPPORTED');
    expect(refusal({ rawPath: '*' })).toBe('400 UNSUPPORTED');
    expect(refusal({ headers: { 'x-bad': 'a\u20acb' } })).toBe('400 UNSUPPORTED');
    expect(refusal({ method: 'PATCH', body: allBytes, headers: { 'transfer-encoding': 'chunked' } })).toBe('accepted');
  });

  it('stamps API Gateway\'s sourceIp as the client address, overwriting a client-sent value', () => {
    const request = eventToRequest(apiGatewayEvent({ headers: { [CLIENT_ADDRESS_HEADER]: '203.0.113.9' } }));
    expect(request.headers.get(CLIENT_ADDRESS_HEADER)).toBe('192.0.2.1');
  });
});
