import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Plan {
  id: string;
  partSize: number;
  parts: Array<{ number: number; url: string }>;
}

/**
 * Direct uploads through the deployed path, offline: the registry function plans them and
 * hands verification to the verifier function (an asynchronous invoke, as in the stack);
 * the blob appears only once the verifier has hashed it.
 */
describe('dev:aws: direct uploads verified in the background', () => {
  let registry: RunningDevAws;
  beforeAll(async () => {
    registry = await devAwsTarget().start();
  }, 180_000);
  afterAll(() => registry?.stop(), 60_000);

  const call = (method: string, path: string, body?: unknown) => fetch(`${registry.url}${path}`, {
    method, redirect: 'manual', headers: { ...authHeaders(registry), 'Content-Type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  async function push(repo: string, bytes: Uint8Array<ArrayBuffer>, promised: string): Promise<{ id: string; completed: Response }> {
    const started = await call('POST', `/v2/${repo}/_nimbus/direct-uploads`, { digest: promised, size: bytes.byteLength });
    expect(started.status, await started.clone().text()).toBe(201);
    const plan = (await started.json()) as Plan;
    const parts = await Promise.all(plan.parts.map(async (part) => {
      const put = await fetch(part.url, {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' },
        body: bytes.subarray((part.number - 1) * plan.partSize, part.number * plan.partSize),
      });
      expect(put.status).toBe(200);
      return { number: part.number, etag: put.headers.get('etag')! };
    }));
    return { id: plan.id, completed: await call('PUT', `/v2/${repo}/_nimbus/direct-uploads/${plan.id}`, { parts }) };
  }

  async function settle(repo: string, id: string): Promise<Response> {
    for (let attempt = 0; attempt < 120; attempt++) {
      const status = await call('GET', `/v2/${repo}/_nimbus/direct-uploads/${id}`);
      if (status.status !== 202) return status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error('verification did not finish');
  }

  it('answers 202 while verifying, then serves the blob by redirect once verified', async () => {
    const bytes = new Uint8Array(randomBytes(20 * MiB));
    const { id, completed } = await push('direct/dev', bytes, sha256(bytes));
    // Verification is an asynchronous invoke: completion never waits for it, so always 202.
    expect(completed.status, await completed.clone().text()).toBe(202);
    expect(await completed.json()).toMatchObject({ id, state: 'verifying', digest: sha256(bytes), size: bytes.byteLength });
    const verified = await settle('direct/dev', id);
    expect(verified.status, await verified.clone().text()).toBe(201);
    const get = await call('GET', `/v2/direct/dev/blobs/${sha256(bytes)}`);
    expect(get.status).toBe(307);
    const back = new Uint8Array(await (await fetch(get.headers.get('location')!)).arrayBuffer());
    expect(sha256(back)).toBe(sha256(bytes));
  }, 120_000);

  it('fails tampered bytes with DIGEST_INVALID and never serves them', async () => {
    const promised = new Uint8Array(randomBytes(3 * MiB));
    const tampered = new Uint8Array(promised);
    tampered[42] = tampered[42]! ^ 0x80;
    const { id } = await push('direct/dev-tampered', tampered, sha256(promised));
    const failed = await settle('direct/dev-tampered', id);
    expect(failed.status).toBe(400);
    expect((await failed.json()).errors[0].code).toBe('DIGEST_INVALID');
    expect((await call('HEAD', `/v2/direct/dev-tampered/blobs/${sha256(promised)}`)).status).toBe(404);
  }, 120_000);
});
