import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

/**
 * The deployed path's size limits, through `npm run dev:aws` with the emulators it starts
 * itself: a client that chunks as OCI-Chunk-Max-Length says pushes a blob of several
 * S3 parts; bodies over the limits get clear 413s, never a hang or a bare 500.
 */
describe('dev:aws: chunked uploads within what one Lambda request can carry', () => {
  let registry: RunningDevAws;

  beforeAll(async () => {
    registry = await devAwsTarget({ ownEmulators: true, uploadEndpoint: false }).start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  async function startUpload(repository: string): Promise<{ location: string; chunkMax: number }> {
    // Auth is on, as when deployed; the upload URL that comes back is a capability and needs no login.
    const response = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: authHeaders(registry) });
    expect(response.status).toBe(202);
    return { location: new URL(response.headers.get('location')!, registry.url).href, chunkMax: Number(response.headers.get('oci-chunk-max-length')) };
  }

  /** A chunking client: PATCH slices no larger than the advertised limit, each with its Content-Range, then PUT. */
  async function pushChunked(repository: string, blob: Buffer): Promise<{ digest: string; chunks: number }> {
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const upload = await startUpload(repository);
    const { chunkMax } = upload;
    let { location } = upload;
    expect(chunkMax).toBeGreaterThan(1024 * 1024);
    let chunks = 0;
    for (let start = 0; start < blob.byteLength; start += chunkMax) {
      const chunk = blob.subarray(start, Math.min(start + chunkMax, blob.byteLength));
      const end = start + chunk.byteLength - 1;
      const response = await fetch(location, {
        method: 'PATCH',
        body: new Uint8Array(chunk), // a copy typed on a plain ArrayBuffer, as BodyInit wants
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': String(chunk.byteLength) },
      });
      expect(response.status, await response.clone().text()).toBe(202);
      expect(response.headers.get('range')).toBe(`0-${end}`);
      location = new URL(response.headers.get('location')!, registry.url).href;
      chunks++;
    }
    const done = await fetch(`${location}&digest=${encodeURIComponent(digest)}`, { method: 'PUT' });
    expect(done.status, await done.clone().text()).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
    return { digest, chunks };
  }

  it('pushes a 12 MiB blob in chunks, answers HEAD from metadata and GET with a 307 to the S3 emulator', async () => {
    const blob = randomBytes(12 * 1024 * 1024);
    const { digest, chunks } = await pushChunked('e2e/chunked', blob);
    expect(chunks).toBeGreaterThanOrEqual(3);

    const head = await fetch(`${registry.url}/v2/e2e/chunked/blobs/${digest}`, { method: 'HEAD', headers: authHeaders(registry) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(blob.byteLength));
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    const get = await fetch(`${registry.url}/v2/e2e/chunked/blobs/${digest}`, { redirect: 'manual', headers: authHeaders(registry) });
    expect(get.status).toBe(307);
    const location = new URL(get.headers.get('location')!);
    expect(location.origin).toBe(new URL(registry.s3Endpoint).origin);
    expect(location.hostname).toBe('127.0.0.1');
    const bytes = new Uint8Array(await (await fetch(location)).arrayBuffer());
    expect(bytes.byteLength).toBe(blob.byteLength);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);
  });

  it('refuses a PATCH one byte over the advertised limit with 413 in spec JSON', async () => {
    const { location, chunkMax } = await startUpload('e2e/limits');
    const response = await fetch(location, { method: 'PATCH', body: new Uint8Array(chunkMax + 1), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(413);
    const body = await response.json() as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]!.code).toBe('SIZE_INVALID');
    expect(body.errors[0]!.message).toContain(String(chunkMax));
  });

  it('answers a PATCH larger than a Lambda event can carry with 413 from API Gateway, not a hang or a bare 500', async () => {
    const { location } = await startUpload('e2e/limits');
    const response = await fetch(location, { method: 'PATCH', body: randomBytes(5 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Too Long' });
  });

  it('answers a PATCH over API Gateway\'s 10 MB payload limit with 413', async () => {
    const { location } = await startUpload('e2e/limits');
    const response = await fetch(location, { method: 'PATCH', body: randomBytes(11 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
  });

  it('keeps the upload usable after a refused chunk', async () => {
    const blob = randomBytes(1024 * 1024);
    const { location } = await startUpload('e2e/limits');
    const refused = await fetch(location, { method: 'PATCH', body: randomBytes(5 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
    expect(refused.status).toBe(413);
    const accepted = await fetch(location, { method: 'PATCH', body: blob, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${blob.byteLength - 1}` } });
    expect(accepted.status).toBe(202);
  });
});
