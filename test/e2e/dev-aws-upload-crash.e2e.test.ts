import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadEndpointStarted } from '../../functions/dev/upload-endpoint-process';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

const MiB = 1024 * 1024;
/** dev:aws cuts 8 MiB parts; the session is checkpointed after each. */
const PART = 8 * MiB;

/**
 * The upload endpoint killed in the middle of a PATCH (SIGKILL: no cleanup), as a task can
 * die on ECS: dev:aws starts it again, the upload's status still says how far it got, the
 * client resumes from there with Content-Range, and the blob appears only once completed.
 * Also the monolithic PUT ?digest= that containerd, buildx and oras send to an upload URL.
 */
describe('dev:aws upload endpoint: crash and resume, monolithic PUT', () => {
  let registry: RunningDevAws;

  beforeAll(async () => {
    // A short lease, so the killed request's hold on the session lapses within seconds.
    registry = await devAwsTarget({ env: { NIMBUS_UPLOAD_LEASE_SECONDS: '5' } }).start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  const blobUrl = (repository: string, digest: string) => `${registry.url}/v2/${repository}/blobs/${digest}`;
  const headBlob = async (repository: string, digest: string) => (await fetch(blobUrl(repository, digest), { method: 'HEAD', headers: authHeaders(registry) })).status;

  async function startUpload(repository: string): Promise<string> {
    const response = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: authHeaders(registry) });
    expect(response.status).toBe(202);
    const location = response.headers.get('location')!;
    expect(new URL(location).origin).toBe(registry.uploadEndpoint()!.url);
    return location;
  }

  async function uploadStatus(location: string): Promise<Response> {
    const response = await fetch(location);
    expect(response.status, await response.clone().text()).toBe(204);
    return response;
  }

  /** PATCH with Content-Range, retried while the dead request's lease still holds the session (416 "busy"). */
  async function patchFrom(location: string, blob: Buffer, start: number): Promise<Response> {
    for (let attempt = 0; attempt < 30; attempt++) {
      const chunk = blob.subarray(start);
      const response = await fetch(location, {
        method: 'PATCH', body: new Uint8Array(chunk),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${blob.byteLength - 1}`, 'content-length': String(chunk.byteLength) },
      });
      if (response.status !== 416) return response;
      const error = await response.json() as { errors: Array<{ detail?: { reason?: string } }> };
      expect(error.errors[0]!.detail?.reason, 'only a held lease may refuse the resumed chunk').toBe('busy');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error('the session stayed busy for 30 s after its writer died');
  }

  it('resumes an upload whose endpoint was killed mid-PATCH; the blob is invisible until completed', async () => {
    const repository = 'e2e/crash';
    const blob = randomBytes(40 * MiB);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const location = await startUpload(repository);
    const endpoint = registry.uploadEndpoint()!;

    // docker's way: one streamed PATCH. The test sends 20 MiB of it, then stalls.
    const sent = 20 * MiB;
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset >= sent) return new Promise<void>(() => undefined);
        controller.enqueue(new Uint8Array(blob.subarray(offset, offset + MiB)));
        offset += MiB;
      },
    });
    const streaming = fetch(location, { method: 'PATCH', body, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit)
      .then((response) => `answered ${response.status}`, (error: unknown) => `failed: ${String(error)}`);

    // Two parts land and are checkpointed while the request is still open.
    const checkpointed = Math.floor(sent / PART) * PART;
    for (let polls = 0; ; polls++) {
      const range = (await uploadStatus(location)).headers.get('range');
      if (range === `0-${checkpointed - 1}`) break;
      if (polls > 300) throw new Error(`the upload never reported ${checkpointed} bytes (last Range: ${range})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await headBlob(repository, digest)).toBe(404);

    const restarted = registry.waitForLog((line) => {
      const started = uploadEndpointStarted(line);
      return started && started.pid !== endpoint.pid ? started : undefined;
    }, 60_000);
    process.kill(endpoint.pid, 'SIGKILL'); // a child of the dev:aws this test started
    expect(await streaming).toMatch(/^failed/);
    expect((await restarted).url).toBe(endpoint.url);

    // The new process knows where the upload stands: the parts before the crash.
    const status = await uploadStatus(location);
    expect(status.headers.get('range')).toBe(`0-${checkpointed - 1}`);
    expect(await headBlob(repository, digest)).toBe(404);

    const resumed = await patchFrom(location, blob, checkpointed);
    expect(resumed.status, await resumed.clone().text()).toBe(202);
    expect(resumed.headers.get('range')).toBe(`0-${blob.byteLength - 1}`);
    expect(await headBlob(repository, digest)).toBe(404);

    const next = new URL(resumed.headers.get('location')!, location);
    next.searchParams.set('digest', digest);
    const done = await fetch(next, { method: 'PUT' });
    expect(done.status, await done.clone().text()).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);

    const head = await fetch(blobUrl(repository, digest), { method: 'HEAD', headers: authHeaders(registry) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(blob.byteLength));
    const bytes = Buffer.from(await (await fetch(blobUrl(repository, digest), { headers: authHeaders(registry) })).arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digest);
  }, 180_000);

  it('stores a monolithic PUT ?digest= with a 30 MiB body (containerd, buildx, oras)', async () => {
    const repository = 'e2e/monolithic';
    const blob = randomBytes(30 * MiB);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const location = new URL(await startUpload(repository));
    location.searchParams.set('digest', digest);
    const response = await fetch(location, { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status, await response.clone().text()).toBe(201);
    expect(await headBlob(repository, digest)).toBe(200);
  }, 120_000);

  it('refuses a monolithic PUT whose bytes do not match the digest, and stores nothing', async () => {
    const repository = 'e2e/monolithic';
    const blob = randomBytes(12 * MiB);
    const claimed = `sha256:${createHash('sha256').update('something else').digest('hex')}`;
    const location = new URL(await startUpload(repository));
    location.searchParams.set('digest', claimed);
    const response = await fetch(location, { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } });
    expect(response.status).toBe(400);
    expect((await response.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DIGEST_INVALID');
    expect(await headBlob(repository, claimed)).toBe(404);
  }, 120_000);
});
