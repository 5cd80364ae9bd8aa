import { describe, expect, it } from 'vitest';
import { expectError, rand, sha256, uniqueRepo } from '../client';
import type { SuiteContext } from '../suite';

/** Fetching blobs: GET, HEAD, Range, and the errors around them. Also /v2/ and routing. */
export function blobTests(t: SuiteContext): void {
  describe('base and routing', () => {
    it('answers GET /v2/ with 200 {} and the API version header', async () => {
      const response = await t.client.send('GET', '/v2/');
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
      expect(await response.json()).toEqual({});
    });

    it('answers an unknown route with a JSON 404', async () => {
      await expectError(await t.client.send('GET', '/v2/x/unknown-thing'), 404, 'UNSUPPORTED');
      await expectError(await t.client.send('GET', '/nope'), 404, 'UNSUPPORTED');
    });

    it('answers a method a route lacks with 405 UNSUPPORTED and Allow', async () => {
      const response = await t.client.send('POST', `/v2/${uniqueRepo()}/tags/list`);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      await expectError(response, 405, 'UNSUPPORTED');
    });

    it('accepts multi-segment names and rejects names outside the grammar', async () => {
      const good = `${uniqueRepo()}/api/v2`;
      const blob = await t.client.pushBlob(good, rand(10));
      expect((await t.client.send('HEAD', `/v2/${good}/blobs/${blob.digest}`)).status).toBe(200);
      for (const bad of ['Upper/case', 'a//b', '-lead/x', 'trail-/x', 'a/b/', 'x'.repeat(256), 'a..b', 'a:b']) {
        await expectError(await t.client.send('GET', `/v2/${bad}/tags/list`), 400, 'NAME_INVALID');
      }
    });
  });

  describe('blob GET and HEAD', () => {
    it('serves a blob with its digest, length and ETag, and HEAD without a body', async () => {
      const repo = uniqueRepo();
      const bytes = rand(3000);
      const blob = await t.client.pushBlob(repo, bytes);
      const get = await t.client.send('GET', `/v2/${repo}/blobs/${blob.digest}`);
      expect(get.status).toBe(200);
      expect(get.headers.get('docker-content-digest')).toBe(blob.digest);
      expect(get.headers.get('content-length')).toBe('3000');
      expect(get.headers.get('etag')).toBe(`"${blob.digest}"`);
      expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);
      const head = await t.client.send('HEAD', `/v2/${repo}/blobs/${blob.digest}`);
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe('3000');
      expect(head.headers.get('docker-content-digest')).toBe(blob.digest);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });

    it('answers a matching If-None-Match with 304', async () => {
      const repo = uniqueRepo();
      const blob = await t.client.pushBlob(repo, rand(10));
      const response = await t.client.send('GET', `/v2/${repo}/blobs/${blob.digest}`, { headers: { 'If-None-Match': `"${blob.digest}"` } });
      expect(response.status).toBe(304);
    });

    it('serves byte ranges with 206 and rejects unsatisfiable ones with 416', async () => {
      const repo = uniqueRepo();
      const bytes = rand(1000);
      const blob = await t.client.pushBlob(repo, bytes);
      const path = `/v2/${repo}/blobs/${blob.digest}`;
      const middle = await t.client.send('GET', path, { headers: { Range: 'bytes=10-19' } });
      expect(middle.status).toBe(206);
      expect(middle.headers.get('content-range')).toBe('bytes 10-19/1000');
      expect(new Uint8Array(await middle.arrayBuffer())).toEqual(bytes.subarray(10, 20));
      const open = await t.client.send('GET', path, { headers: { Range: 'bytes=990-' } });
      expect(new Uint8Array(await open.arrayBuffer())).toEqual(bytes.subarray(990));
      const suffix = await t.client.send('GET', path, { headers: { Range: 'bytes=-5' } });
      expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.subarray(995));
      const beyond = await t.client.send('GET', path, { headers: { Range: 'bytes=1000-1010' } });
      expect(beyond.headers.get('content-range')).toBe('bytes */1000');
      await expectError(beyond, 416, 'SIZE_INVALID');
    });

    it('answers BLOB_UNKNOWN for a missing blob and for a blob of another repository', async () => {
      const repo = uniqueRepo();
      const blob = await t.client.pushBlob(repo, rand(10));
      await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${sha256('missing')}`), 404, 'BLOB_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${uniqueRepo()}/blobs/${blob.digest}`), 404, 'BLOB_UNKNOWN');
      expect((await t.client.send('HEAD', `/v2/${uniqueRepo()}/blobs/${blob.digest}`)).status).toBe(404);
    });

    it('answers DIGEST_INVALID for malformed or unsupported digests', async () => {
      const repo = uniqueRepo();
      for (const bad of ['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'notadigest', `sha256:${'G'.repeat(64)}`]) {
        await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${bad}`), 400, 'DIGEST_INVALID');
      }
    });
  });
}
