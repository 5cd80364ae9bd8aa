import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadEndpointStarted } from '../../functions/dev/upload-endpoint-process';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

const MiB = 1024 * 1024;
/** dev:aws cuts 8 MiB parts; the session is checkpointed after each. */
const PART = 8 * MiB;
/** The acceptance bound: docker's retries come 5, 10, 15 and 20 s after a failure. */
const RESUME_WITHIN_MS = 20_000;
/** A client's pause between two tries of the resumed PATCH while the dead request's lease still holds. */
const CLIENT_BACKOFF_MS = 250;

/**
 * Issue 10's acceptance, with the upload endpoint's default lease (15 s, kept by
 * heartbeats): the endpoint process is killed (SIGKILL) in the middle of a docker-style
 * streamed PATCH; the client asks the upload URL where it stands, resumes with
 * Content-Range from there and completes with PUT. The resumed PATCH is accepted within
 * 20 s of the kill, and the blob's digest is right.
 */
describe.each([
  { entry: 'task (main.ts)', mode: 'on', kind: 'task' },
  { entry: 'Lambda web function (web-function.ts)', mode: 'web-function', kind: 'web-function' },
])('dev:aws upload endpoint, $entry, killed mid-PATCH: resume within docker\'s retry window', ({ mode, kind }) => {
  let registry: RunningDevAws;

  beforeAll(async () => {
    registry = await devAwsTarget({ env: { NIMBUS_DEV_UPLOAD_ENDPOINT: mode } }).start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  it('accepts the resumed PATCH within 20 s of the kill and stores the right blob', async () => {
    const repository = 'e2e/crash-resume';
    const blob = randomBytes(40 * MiB);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const opened = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: authHeaders(registry) });
    expect(opened.status).toBe(202);
    const location = opened.headers.get('location')!;
    const endpoint = registry.uploadEndpoint()!;
    expect(new URL(location).origin).toBe(endpoint.url);
    expect(registry.logs()).toContain(`"msg":"upload endpoint started","url":"${endpoint.url}","pid":${endpoint.pid},"kind":"${kind}"`);

    // docker's way: one streamed PATCH. This client sends 20 MiB of it, then goes quiet.
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

    // The PATCH's progress shows in the upload's status: wait until both full parts are checkpointed.
    const checkpointed = Math.floor(sent / PART) * PART;
    for (;;) {
      const status = await fetch(location);
      expect(status.status).toBe(204);
      if (status.headers.get('range') === `0-${checkpointed - 1}`) break;
    }

    const restarted = registry.waitForLog((line) => {
      const started = uploadEndpointStarted(line);
      return started && started.pid !== endpoint.pid ? started : undefined;
    }, 60_000);
    process.kill(endpoint.pid, 'SIGKILL'); // a child of the dev:aws this test started
    const killedAt = Date.now();
    expect(await streaming).toMatch(/^failed/);
    expect((await restarted).url).toBe(endpoint.url);

    // The client's resume: where does the upload stand, then the rest from there.
    const deadline = killedAt + RESUME_WITHIN_MS;
    let resumed: Response | undefined;
    let refusals = 0;
    while (!resumed && Date.now() < deadline) {
      const status = await fetch(location);
      expect(status.status, await status.clone().text()).toBe(204);
      expect(status.headers.get('range')).toBe(`0-${checkpointed - 1}`);
      const rest = blob.subarray(checkpointed);
      const attempt = await fetch(status.headers.get('location') ? new URL(status.headers.get('location')!, location) : location, {
        method: 'PATCH', body: new Uint8Array(rest),
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${checkpointed}-${blob.byteLength - 1}`, 'content-length': String(rest.byteLength) },
      }).catch((error: unknown) => {
        // Refused before its body was read, the connection closes under the client's upload:
        // the client cannot read the 416 then, and retries as it would after a 416.
        expect(String((error as Error).cause)).toMatch(/EPIPE|ECONNRESET|other side closed/);
        return undefined;
      });
      if (attempt && attempt.status !== 416) {
        resumed = attempt;
        break;
      }
      if (attempt) {
        // Only the dead request's lease may refuse it, until the lease lapses.
        const error = await attempt.json() as { errors: Array<{ detail?: { reason?: string } }> };
        expect(error.errors[0]!.detail?.reason).toBe('busy');
      }
      refusals++;
      await new Promise((resolve) => setTimeout(resolve, CLIENT_BACKOFF_MS));
    }
    expect(resumed, `the resumed PATCH was still refused ${RESUME_WITHIN_MS / 1000} s after the kill (${refusals} tries)`).toBeDefined();
    expect(resumed!.status, await resumed!.clone().text()).toBe(202);
    expect(resumed!.headers.get('range')).toBe(`0-${blob.byteLength - 1}`);

    const done = new URL(resumed!.headers.get('location')!, location);
    done.searchParams.set('digest', digest);
    const put = await fetch(done, { method: 'PUT' });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    const pulled = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, { headers: authHeaders(registry) });
    expect(pulled.status).toBe(200);
    expect(`sha256:${createHash('sha256').update(Buffer.from(await pulled.arrayBuffer())).digest('hex')}`).toBe(digest);
  }, 180_000);
});
