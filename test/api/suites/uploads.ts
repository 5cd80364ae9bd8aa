import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bodyText, expectError, rand, sha256, streamBody, uniqueRepo, withQuery } from '../client';
import type { SuiteContext } from '../suite';

/** Pushing blobs: every upload style clients use, mounts, and the errors. */
export function uploadTests(t: SuiteContext): void {
  describe('blob uploads', () => {
    it('opens a session with 202, a signed Location, Range 0-0 and an upload UUID', async () => {
      const response = await t.client.send('POST', `/v2/${uniqueRepo()}/blobs/uploads/`);
      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toMatch(/\/blobs\/uploads\/[0-9a-f-]+\?_state=/);
      expect(response.headers.get('range')).toBe('0-0');
      expect(response.headers.get('docker-upload-uuid')).toBeTruthy();
    });

    it('stores a single-POST monolithic upload (?digest= with the body) with 201', async () => {
      const repo = uniqueRepo();
      const bytes = rand(2048);
      const digest = sha256(bytes);
      const response = await t.client.send('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
        body: bytes, headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(response.status, await bodyText(response)).toBe(201);
      expect(response.headers.get('location')).toBe(`/v2/${repo}/blobs/${digest}`);
      expect(response.headers.get('docker-content-digest')).toBe(digest);
      expect(new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${digest}`)).arrayBuffer())).toEqual(bytes);
    });

    it('stores POST then PUT with the whole body (containerd, buildx, oras)', async () => {
      const repo = uniqueRepo();
      const bytes = rand(100_000);
      const location = await t.client.startUpload(repo);
      const put = await t.client.send('PUT', withQuery(location, { digest: sha256(bytes) }), { body: bytes });
      expect(put.status, await bodyText(put)).toBe(201);
      expect((await t.client.send('HEAD', `/v2/${repo}/blobs/${sha256(bytes)}`)).headers.get('content-length')).toBe('100000');
    });

    it('stores one PATCH with Content-Length (skopeo) then an empty PUT', async () => {
      const repo = uniqueRepo();
      const bytes = rand(300_000);
      const location = await t.client.startUpload(repo);
      const patch = await t.client.send('PATCH', location, { body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
      expect(patch.status).toBe(202);
      expect(patch.headers.get('range')).toBe('0-299999');
      const put = await t.client.send('PUT', withQuery(patch.headers.get('location')!, { digest: sha256(bytes) }));
      expect(put.status, await bodyText(put)).toBe(201);
    });

    it('stores one streamed PATCH without a length (docker, podman) spanning several parts', async () => {
      const repo = uniqueRepo();
      const bytes = rand(700_000);
      const blob = await t.client.pushBlob(repo, bytes);
      const back = new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${blob.digest}`)).arrayBuffer());
      expect(sha256(back)).toBe(sha256(bytes));
    });

    it('accepts ordered Content-Range chunks, reports progress, and finishes with a last chunk in the PUT', async () => {
      const repo = uniqueRepo();
      const bytes = rand(30_000);
      let location = await t.client.startUpload(repo);
      for (const [start, end] of [[0, 9_999], [10_000, 19_999]] as const) {
        const patch = await t.client.send('PATCH', location, {
          body: bytes.subarray(start, end + 1), headers: { 'Content-Range': `${start}-${end}`, 'Content-Length': String(end - start + 1) },
        });
        expect(patch.status, await bodyText(patch)).toBe(202);
        expect(patch.headers.get('range')).toBe(`0-${end}`);
        location = patch.headers.get('location')!;
      }
      const status = await t.client.send('GET', location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-19999');
      expect(status.headers.get('location')).toBeTruthy();
      const put = await t.client.send('PUT', withQuery(location, { digest: sha256(bytes) }), {
        body: bytes.subarray(20_000), headers: { 'Content-Range': '20000-29999' },
      });
      expect(put.status, await bodyText(put)).toBe(201);
    });

    it('answers an out-of-order chunk with 416 and the current Range, and loses nothing', async () => {
      const repo = uniqueRepo();
      const bytes = rand(2_000);
      const location = await t.client.startUpload(repo);
      const first = await t.client.send('PATCH', location, { body: bytes.subarray(0, 1000), headers: { 'Content-Range': '0-999' } });
      expect(first.status).toBe(202);
      const gap = await t.client.send('PATCH', first.headers.get('location')!, { body: bytes.subarray(1000), headers: { 'Content-Range': '1500-2499' } });
      expect(gap.headers.get('range')).toBe('0-999');
      await expectError(gap, 416, 'BLOB_UPLOAD_INVALID');
      const overlap = await t.client.send('PATCH', first.headers.get('location')!, { body: bytes.subarray(0, 10), headers: { 'Content-Range': '0-9' } });
      await expectError(overlap, 416, 'BLOB_UPLOAD_INVALID');
      const rest = await t.client.send('PUT', withQuery(first.headers.get('location')!, { digest: sha256(bytes) }), {
        body: bytes.subarray(1000), headers: { 'Content-Range': '1000-1999' },
      });
      expect(rest.status, await bodyText(rest)).toBe(201);
    });

    it('rejects a malformed Content-Range, or one that disagrees with Content-Length', async () => {
      const location = await t.client.startUpload(uniqueRepo());
      await expectError(await t.client.send('PATCH', location, { body: rand(10), headers: { 'Content-Range': 'garbage' } }), 416, 'BLOB_UPLOAD_INVALID');
      await expectError(await t.client.send('PATCH', location, { body: rand(10), headers: { 'Content-Range': '0-19' } }), 400, 'SIZE_INVALID');
      await expectError(await t.client.send('PATCH', location, { body: rand(10), headers: { 'Content-Range': '0-9', 'Content-Length': '11' } }), 400, 'SIZE_INVALID');
      const status = await t.client.send('GET', location);
      expect(status.headers.get('range')).toBe('0-0'); // nothing was accepted
    });

    it('rejects a wrong digest with DIGEST_INVALID, stores nothing, and ends the session', async () => {
      const repo = uniqueRepo();
      const bytes = rand(5000);
      const wrong = sha256('something else');
      const location = await t.client.startUpload(repo);
      const patch = await t.client.send('PATCH', location, { body: streamBody(bytes) });
      const next = patch.headers.get('location')!;
      await expectError(await t.client.send('PUT', withQuery(next, { digest: wrong })), 400, 'DIGEST_INVALID');
      await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
      await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${sha256(bytes)}`), 404, 'BLOB_UNKNOWN');
      await expectError(await t.client.send('GET', next), 404, 'BLOB_UPLOAD_UNKNOWN');
      const monolithic = await t.client.send('POST', `/v2/${repo}/blobs/uploads/?digest=${wrong}`, { body: bytes });
      await expectError(monolithic, 400, 'DIGEST_INVALID');
      await expectError(await t.client.send('GET', `/v2/${repo}/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    });

    it('requires a valid digest to complete', async () => {
      const location = await t.client.startUpload(uniqueRepo());
      await expectError(await t.client.send('PUT', location, { body: rand(5) }), 400, 'DIGEST_INVALID');
      await expectError(await t.client.send('PUT', withQuery(location, { digest: 'sha256:short' })), 400, 'DIGEST_INVALID');
    });

    it('accepts sha512 digests for uploads and fetches', async () => {
      const repo = uniqueRepo();
      const bytes = rand(4000);
      const digest = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
      const location = await t.client.startUpload(repo);
      const put = await t.client.send('PUT', withQuery(location, { digest }), { body: bytes });
      expect(put.status, await bodyText(put)).toBe(201);
      const get = await t.client.send('GET', `/v2/${repo}/blobs/${digest}`);
      expect(get.headers.get('docker-content-digest')).toBe(digest);
      expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes);
    });

    it('cancels a session with DELETE, after which it is unknown', async () => {
      const location = await t.client.startUpload(uniqueRepo());
      await t.client.send('PATCH', location, { body: rand(100) });
      expect((await t.client.send('DELETE', location)).status).toBe(204);
      await expectError(await t.client.send('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
      await expectError(await t.client.send('PATCH', location, { body: rand(1) }), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('refuses upload URLs whose capability is missing, tampered, for another repository, or expired', async () => {
      const repo = uniqueRepo();
      const location = await t.client.startUpload(repo);
      const url = new URL(location, 'http://registry.test');
      const state = url.searchParams.get('_state')!;
      await expectError(await t.client.send('GET', url.pathname), 404, 'BLOB_UPLOAD_UNKNOWN');
      const tampered = state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA');
      await expectError(await t.client.send('GET', `${url.pathname}?_state=${tampered}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      const other = url.pathname.replace(repo, uniqueRepo());
      await expectError(await t.client.send('GET', `${other}?_state=${state}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      t.fixture.advanceClock(2 * 3600 * 1000);
      const expired = await expectError(await t.client.send('GET', location), 404, 'BLOB_UPLOAD_UNKNOWN');
      expect(expired.message).toMatch(/expired/);
    });

    it('mounts a blob from another repository with 201, and falls back to a session otherwise', async () => {
      const source = uniqueRepo();
      const target = uniqueRepo();
      const blob = await t.client.pushBlob(source, rand(500));
      const mounted = await t.client.send('POST', `/v2/${target}/blobs/uploads/?mount=${blob.digest}&from=${source}`);
      expect(mounted.status).toBe(201);
      expect(mounted.headers.get('location')).toBe(`/v2/${target}/blobs/${blob.digest}`);
      expect((await t.client.send('HEAD', `/v2/${target}/blobs/${blob.digest}`)).status).toBe(200);
      const missing = await t.client.send('POST', `/v2/${uniqueRepo()}/blobs/uploads/?mount=${sha256('nope')}&from=${source}`);
      expect(missing.status).toBe(202);
      const wrongSource = await t.client.send('POST', `/v2/${uniqueRepo()}/blobs/uploads/?mount=${blob.digest}&from=${uniqueRepo()}`);
      expect(wrongSource.status).toBe(202);
      const noFrom = await t.client.send('POST', `/v2/${uniqueRepo()}/blobs/uploads/?mount=${blob.digest}`);
      expect(noFrom.status).toBe(201);
    });
  });
}
