import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { awsRegistry, sha256, sha256OfStream, type AwsRegistryFixture } from './fixture';

const MiB = 1024 * 1024;

interface Plan {
  id: string;
  partSize: number;
  parts: Array<{ number: number; url: string }>;
}

/** Direct uploads against the S3 emulator: real presigned UploadPart URLs, real completion. */
describe('direct uploads to S3', () => {
  let emulators: AwsEmulators;
  let fixture: AwsRegistryFixture;
  beforeAll(async () => {
    emulators = await startAwsEmulators();
    // fauxqs refuses request bodies over 11 MiB; real S3 takes parts up to 5 GiB.
    fixture = await awsRegistry(emulators, {}, { partSize: 8 * MiB });
  }, 120_000);
  afterAll(() => emulators?.stop());

  const send = (method: string, path: string, body?: unknown) => fixture.registry.fetch(new Request(`http://registry.test${path}`, {
    method, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }));

  async function push(repo: string, bytes: Uint8Array<ArrayBuffer>, promised = sha256(bytes)) {
    const started = await send('POST', `/v2/${repo}/_nimbus/direct-uploads`, { digest: promised, size: bytes.byteLength });
    expect(started.status, await started.clone().text()).toBe(201);
    const plan = (await started.json()) as Plan;
    const parts = await Promise.all(plan.parts.map(async (part) => {
      const slice = bytes.subarray((part.number - 1) * plan.partSize, part.number * plan.partSize);
      const put = await fetch(part.url, { method: 'PUT', body: slice, headers: { 'Content-Type': 'application/octet-stream' } });
      expect(put.status, await put.clone().text()).toBe(200);
      return { number: part.number, etag: put.headers.get('etag')! };
    }));
    return send('PUT', `/v2/${repo}/_nimbus/direct-uploads/${plan.id}`, { parts });
  }

  it('takes parts through presigned URLs and serves the verified blob by redirect', async () => {
    const bytes = new Uint8Array(randomBytes(37 * MiB));
    const done = await push('direct/s3', bytes);
    expect(done.status, await done.clone().text()).toBe(201);
    const get = await send('GET', `/v2/direct/s3/blobs/${sha256(bytes)}`);
    expect(get.status).toBe(307);
    const back = await sha256OfStream((await fetch(get.headers.get('location')!)).body);
    expect(back).toEqual({ digest: sha256(bytes), size: bytes.byteLength });
  }, 120_000);

  it('deletes bytes that do not match the promised digest and never serves them', async () => {
    const promised = new Uint8Array(randomBytes(6 * MiB));
    const tampered = new Uint8Array(promised);
    tampered[0] = tampered[0]! ^ 1;
    const done = await push('direct/tampered', tampered, sha256(promised));
    expect(done.status).toBe(400);
    expect((await done.json()).errors[0].code).toBe('DIGEST_INVALID');
    expect((await send('HEAD', `/v2/direct/tampered/blobs/${sha256(promised)}`)).status).toBe(404);
    expect(fixture.calls.some((call) => call.command === 'DeleteObjectCommand')).toBe(true);
  }, 120_000);
});
