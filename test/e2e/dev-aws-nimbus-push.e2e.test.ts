import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Skopeo } from '../../harness/clients/skopeo';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { buildOciImage, MiB } from '../../harness/oci-image';
import { nimbus } from '../cli/push-fixture';

/**
 * `npx nimbus push` through the deployed path, offline (dev:aws): login, presigned part
 * URLs from the registry function, parts straight to the S3 emulator, verification by the
 * verifier function in the background, then skopeo pulls the image back.
 */
describe('dev:aws: nimbus push of 50 MiB and 500 MiB layers', () => {
  let registry: RunningDevAws;
  let skopeo: Skopeo;
  let work: string;
  beforeAll(async () => {
    work = join(tmpdir(), `nimbus-push-e2e-${randomUUID().slice(0, 8)}`);
    await mkdir(work, { recursive: true });
    [registry, skopeo] = await Promise.all([devAwsTarget({ uploadEndpoint: false }).start(), Skopeo.create(join(work, 'skopeo'))]);
    await skopeo.login(registry.host, registry.credentials);
  }, 180_000);
  afterAll(async () => {
    await registry?.stop();
    await rm(work, { recursive: true, force: true });
  }, 60_000);

  it.each([50, 500])('pushes a %i MiB layer with parallel parts and progress, and skopeo pulls the same digests back', async (size) => {
    const image = await buildOciImage(join(work, `oci-${size}`), { seed: `nimbus-push-${size}`, layerSizes: [size * MiB] });
    const ref = `${registry.host}/push/e2e-${size}:v1`;
    const run = await nimbus(['push', image.layoutDir, ref, '--username', registry.credentials.username, '--password-stdin', '--parallel', '4', '--progress', 'plain'], {
      input: registry.credentials.password,
    });
    expect(run.code, `${run.stderr}\n${registry.logs().slice(-4000)}`).toBe(0);
    expect(run.stdout.trim()).toBe(image.manifest.digest);
    expect(run.stderr).toMatch(/uploading [\d.]+ MiB in \d+ parts of [\d.]+ MiB, 4 at a time/);
    expect(run.stderr).toMatch(/\(50%, /);

    const out = join(work, `pulled-${size}`);
    await skopeo.copy(`docker://${ref}`, `oci:${out}:v1`);
    const pulled = await skopeo.inspect(`oci:${out}:v1`);
    expect(pulled.Layers).toEqual(image.layers.map((layer) => layer.descriptor.digest));
    expect(pulled.Digest).toBe(image.manifest.digest);
  }, 600_000);
});
