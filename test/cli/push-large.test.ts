import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { sha256OfStream } from '../aws/fixture';
import { buildOciImage, MiB } from '../../harness/oci-image';
import { createPushWorld, nimbus, type PushWorld } from './push-fixture';

/**
 * The acceptance push of a 500 MiB layer, in its own file so it can run alone. Parts of
 * 5 MiB (S3's minimum) make 101 of them: more than the first response's 100 URLs, so the
 * CLI must page through the parts endpoint too. fauxqs holds about twice the layer in memory.
 */
let emulators: AwsEmulators;
let world: PushWorld;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  world = await createPushWorld(emulators, 5 * MiB);
}, 120_000);
afterAll(async () => {
  await world?.close();
  await emulators?.stop();
});

it('pushes a 500 MiB layer in 101 parallel parts, verified before it is served', async () => {
  const image = await buildOciImage(join(world.dir, 'oci-500'), { seed: 'push-500', layerSizes: [500 * MiB] });
  const layer = image.layers[0]!.descriptor;
  const parts = Math.ceil(layer.size / (5 * MiB));
  expect(parts).toBe(101);
  world.proxy.holdFirstPart = true;
  const ref = `${world.open.host}/push/large:v1`;
  const run = await nimbus(['push', image.layoutDir, ref, '--parallel', '6', '--progress', 'plain']);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toBe(`${image.manifest.digest}\n`);
  // The layer is the 500 MiB file plus its tar and gzip framing.
  expect(run.stderr).toMatch(new RegExp(`uploading 500\\.\\d MiB in ${parts} parts of 5\\.0 MiB, 6 at a time`));
  for (const percent of [10, 50, 90]) expect(run.stderr).toMatch(new RegExp(`uploading \\(${percent}%, [\\d.]+ MiB of 500\\.\\d MiB\\)`));
  expect(world.proxy.partPuts).toBe(parts);
  expect(world.proxy.maxInFlight).toBeGreaterThanOrEqual(2);
  expect(world.open.requests.filter((line) => line.endsWith('/parts'))).toHaveLength(1);

  const blob = await fetch(`${world.open.server.url}/v2/push/large/blobs/${layer.digest}`);
  expect(await sha256OfStream(blob.body)).toEqual({ digest: layer.digest, size: layer.size });
  const manifest = await fetch(`${world.open.server.url}/v2/push/large/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
}, 600_000);
