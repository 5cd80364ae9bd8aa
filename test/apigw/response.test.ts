import { describe, expect, it } from 'vitest';
import { responseToResult } from '../../functions/adapters/apigw/index';

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('responseToResult', () => {
  it('sends binary bodies base64-encoded, byte for byte', async () => {
    const result = await responseToResult(new Response(allBytes, { headers: { 'content-type': 'application/octet-stream' } }), 'GET');
    expect(result.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(result.body!, 'base64'))).toEqual(allBytes);
  });

  it('sends a body without a Content-Type base64-encoded', async () => {
    const result = await responseToResult(new Response(Buffer.from('plain bytes')), 'GET');
    expect(result.isBase64Encoded).toBe(true);
  });

  it('sends JSON and +json manifests as text', async () => {
    const manifest = '{"schemaVersion":2,"annotations":{"t":"\u00e9\u2603"}}';
    for (const type of ['application/json', 'application/vnd.oci.image.manifest.v1+json', 'text/plain; charset=utf-8']) {
      const result = await responseToResult(new Response(manifest, { headers: { 'content-type': type } }), 'GET');
      expect(result.isBase64Encoded).toBe(false);
      expect(result.body).toBe(manifest);
    }
  });

  it('falls back to base64 for a "JSON" body that is not valid UTF-8, so its digest still matches', async () => {
    const bytes = Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]);
    const result = await responseToResult(new Response(bytes, { headers: { 'content-type': 'application/json' } }), 'GET');
    expect(result.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(result.body!, 'base64'))).toEqual(bytes);
  });

  it('keeps a byte-order mark in a text body', async () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    const result = await responseToResult(new Response(bytes, { headers: { 'content-type': 'application/json' } }), 'GET');
    expect(Buffer.from(result.body!, result.isBase64Encoded ? 'base64' : 'utf8')).toEqual(Buffer.from(bytes));
  });

  it('answers HEAD with headers only, keeping Content-Length', async () => {
    const response = new Response(null, { status: 200, headers: { 'content-length': '1234', 'docker-content-digest': 'sha256:00' } });
    const result = await responseToResult(response, 'HEAD');
    expect(result.body).toBe('');
    expect(result.isBase64Encoded).toBe(false);
    expect(result.headers).toMatchObject({ 'content-length': '1234', 'docker-content-digest': 'sha256:00' });
  });

  it('leaves Content-Length of a body to API Gateway', async () => {
    const result = await responseToResult(new Response('{}', { headers: { 'content-type': 'application/json', 'content-length': '2' } }), 'GET');
    expect(result.headers).not.toHaveProperty('content-length');
  });

  it('joins repeated headers and turns Set-Cookie into cookies', async () => {
    const headers = new Headers();
    headers.append('link', '</v2/_catalog?n=1&last=a>; rel="next"');
    headers.append('warning', '299 - "one"');
    headers.append('warning', '299 - "two"');
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const result = await responseToResult(new Response(null, { status: 204, headers }), 'GET');
    expect(result.headers!.warning).toBe('299 - "one", 299 - "two"');
    expect(result.headers!.link).toBe('</v2/_catalog?n=1&last=a>; rel="next"');
    expect(result.headers).not.toHaveProperty('set-cookie');
    expect(result.cookies).toEqual(['a=1', 'b=2']);
  });

  it('keeps a redirect\'s status and Location', async () => {
    const location = 'http://127.0.0.1:9000/blobs/sha256/ab?X-Amz-Signature=1';
    const result = await responseToResult(new Response(null, { status: 307, headers: { location } }), 'GET');
    expect(result.statusCode).toBe(307);
    expect(result.headers!.location).toBe(location);
  });
});
