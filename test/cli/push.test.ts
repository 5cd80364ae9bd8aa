import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Skopeo } from '../../harness/clients/skopeo';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import {
  blobPath, buildOciImage, buildOciIndex, LINUX_AMD64, LINUX_ARM64, MiB, OCI_INDEX, OCI_MANIFEST, writeDockerArchive,
} from '../../harness/oci-image';
import { corruptByte, createPushWorld, nimbus, PART_SIZE, type PushWorld, type ServedRegistry } from './push-fixture';

let emulators: AwsEmulators;
let world: PushWorld;
let skopeo: Skopeo;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  world = await createPushWorld(emulators);
  skopeo = await Skopeo.create(join(world.dir, 'skopeo'));
}, 120_000);
afterAll(async () => {
  await world?.close();
  await emulators?.stop();
});
beforeEach(() => {
  world.proxy.reset();
  world.proxy.holdFirstPart = false;
});

const fetchFrom = (served: ServedRegistry, path: string, init?: RequestInit) => fetch(`${served.server.url}${path}`, { redirect: 'manual', ...init });

describe('nimbus push to the S3 lane', () => {
  it('pushes an OCI layout with a 50 MiB layer in parallel parts, which skopeo pulls back unchanged', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-50'), { seed: 'push-50', layerSizes: [50 * MiB, 1000] });
    world.proxy.holdFirstPart = true;
    const ref = `${world.open.host}/push/oci:v1`;
    const run = await nimbus(['push', image.layoutDir, ref, '--progress', 'plain']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${image.manifest.digest}\n`);
    const big = image.layers[0]!.descriptor;
    const parts = Math.ceil(big.size / PART_SIZE);
    expect(world.proxy.partPuts).toBe(parts);
    expect(world.proxy.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(run.stderr).toContain(`uploading 50.0 MiB in ${parts} parts of 8.0 MiB, 4 at a time`);
    expect(run.stderr).toMatch(/uploading \(50%, [\d.]+ MiB of 50\.0 MiB\)/);
    expect(run.stderr).toContain(`${big.digest.slice(7, 19)}: verified`);
    expect(run.stderr).toContain(`pushed ${ref}@${image.manifest.digest}`);

    const pulled = await skopeo.copy(`docker://${ref}`, `oci:${join(world.dir, 'pulled-50')}:v1`, { preserveDigests: true });
    expect(pulled).toBe(image.manifest.digest);
    expect(await sha256File(join(world.dir, 'pulled-50', 'blobs', 'sha256', big.digest.slice(7)))).toBe(big.digest);

    const again = await nimbus(['push', image.layoutDir, ref, '--progress', 'plain']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 of 3 blobs to upload (0 B); 3 already in push/oci');
    expect(world.proxy.partPuts).toBe(parts);
  }, 180_000);

  it('retries failed parts and renews expired part URLs', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-retry'), { seed: 'push-retry', layerSizes: [20 * MiB] });
    world.proxy.faults.set(1, ['fail-503', 'fail-503']);
    world.proxy.faults.set(2, ['expired-403']);
    const before = world.open.requests.length;
    const run = await nimbus(['push', image.layoutDir, `${world.open.host}/push/retry:v1`, '--progress', 'plain']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${image.manifest.digest}\n`);
    expect(world.proxy.partPuts).toBe(3 + 3);
    // The 403 sent the CLI back to the registry for a fresh URL of part 2.
    expect(world.open.requests.slice(before).filter((line) => /^GET .*\/_nimbus\/direct-uploads\/[^/]+\/parts$/.test(line))).toHaveLength(1);
  }, 120_000);

  it('pushes a docker save tar (read in place), building an OCI manifest whose layers are the diff ids', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-docker'), { seed: 'push-docker', layerSizes: [12 * MiB, 2000] });
    const archive = join(world.dir, 'docker.tar');
    await writeDockerArchive(image, archive, ['example/app:1.0']);
    const ref = `${world.open.host}/push/docker:1.0`;
    const run = await nimbus(['push', archive, ref, '--progress', 'plain']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('docker-archive');
    const digest = run.stdout.trim();
    const manifest = JSON.parse(await skopeo.inspectRaw(`docker://${ref}`)) as { mediaType: string; config: { digest: string }; layers: Array<{ mediaType: string; digest: string }> };
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.config.digest).toBe(image.config.digest);
    expect(manifest.layers).toEqual(image.layers.map((layer) => expect.objectContaining({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.diffId })));
    expect(await skopeo.copy(`docker://${ref}`, `oci:${join(world.dir, 'pulled-docker')}:x`, { preserveDigests: true })).toBe(digest);
  }, 120_000);

  it('reads a gzipped OCI layout tar from stdin', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-stdin'), { seed: 'push-stdin', layerSizes: [9 * MiB] });
    const tarball = join(world.dir, 'layout.tar.gz');
    await execTar(image.layoutDir, tarball);
    const run = await nimbus(['push', '-', `${world.open.host}/push/stdin:v1`, '--progress', 'plain'], { input: { file: tarball } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${image.manifest.digest}\n`);
    expect(run.stderr).toContain('read OCI layout stdin');
    expect((await fetchFrom(world.open, `/v2/push/stdin/blobs/${image.layers[0]!.descriptor.digest}`, { method: 'HEAD' })).status).toBeLessThan(400);
  }, 120_000);

  it('pushes a two-platform index: children by digest, then the index under the tag', async () => {
    const built = await buildOciIndex(join(world.dir, 'oci-index'), { seed: 'push-index', layerSizes: [6 * MiB, 500], platforms: [LINUX_AMD64, LINUX_ARM64] });
    const ref = `${world.open.host}/push/multi:v1`;
    const run = await nimbus(['push', built.layoutDir, ref, '--progress', 'plain']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${built.index.digest}\n`);
    const raw = await skopeo.inspectRaw(`docker://${ref}`);
    expect(raw).toBe((await readFile(blobPath(built.layoutDir, built.index.digest))).toString());
    expect(JSON.parse(raw).mediaType).toBe(OCI_INDEX);
    const arm = await skopeo.inspect(`docker://${world.open.host}/push/multi@${built.children[1]!.manifest.digest}`);
    expect(arm.Architecture).toBe('arm64');

    const one = await nimbus(['push', built.layoutDir, `${world.open.host}/push/one:v1`, '--platform', 'linux/arm64', '--progress', 'quiet']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe(`${built.children[1]!.manifest.digest}\n`);
  }, 120_000);

  it('fails with DIGEST_INVALID when the layer bytes were tampered with, and the registry never serves them', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-tampered'), { seed: 'push-tampered', layerSizes: [18 * MiB] });
    const layer = image.layers[0]!.descriptor;
    await corruptByte(blobPath(image.layoutDir, layer.digest), 10 * MiB);
    const run = await nimbus(['push', image.layoutDir, `${world.open.host}/push/tampered:v1`, '--progress', 'plain']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`nimbus: DIGEST_INVALID: the registry rejected ${layer.digest}: the bytes uploaded from .* do not have that digest`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect((await fetchFrom(world.open, `/v2/push/tampered/blobs/${layer.digest}`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetchFrom(world.open, `/v2/push/tampered/blobs/${layer.digest}`)).status).toBe(404);
    expect((await fetchFrom(world.open, '/v2/push/tampered/manifests/v1')).status).toBe(404);
  }, 120_000);
});

describe('nimbus push with background verification (the deployed shape)', () => {
  beforeEach(() => {
    world.backgroundVerification = 'run';
  });

  it('waits while the registry verifies (202), then puts the manifest', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-queued'), { seed: 'push-queued', layerSizes: [10 * MiB] });
    const run = await nimbus(['push', image.layoutDir, `${world.background.host}/queued/app:v1`, '--progress', 'plain']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${image.manifest.digest}\n`);
    const layer = image.layers[0]!.descriptor.digest;
    expect(run.stderr).toContain(`${layer.slice(7, 19)}: uploaded; the registry is verifying its digest`);
    // One status GET saw 202 (verifying), which let the worker start; a later one saw it verified.
    expect(world.background.requests.filter((line) => line.startsWith('GET ') && line.includes('/_nimbus/direct-uploads/')).length).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('reports DIGEST_INVALID found in the background', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-queued-bad'), { seed: 'push-queued-bad', layerSizes: [10 * MiB] });
    const layer = image.layers[0]!.descriptor;
    await corruptByte(blobPath(image.layoutDir, layer.digest), 123);
    const run = await nimbus(['push', image.layoutDir, `${world.background.host}/queued/bad:v1`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`DIGEST_INVALID: the registry rejected ${layer.digest}`);
    expect((await fetchFrom(world.background, `/v2/queued/bad/blobs/${layer.digest}`, { method: 'HEAD' })).status).toBe(404);
  }, 120_000);

  it('gives up after --verify-timeout when verification never finishes', async () => {
    world.backgroundVerification = 'hold';
    const image = await buildOciImage(join(world.dir, 'oci-queued-stuck'), { seed: 'push-queued-stuck', layerSizes: [10 * MiB] });
    const run = await nimbus(['push', image.layoutDir, `${world.background.host}/queued/stuck:v1`, '--verify-timeout', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${image.layers[0]!.descriptor.digest} was uploaded but not verified within 2 s`);
    expect((await fetchFrom(world.background, '/v2/queued/stuck/manifests/v1')).status).toBe(404);
  }, 120_000);
});

describe('nimbus push: logins', () => {
  const image = () => buildOciImage(join(world.dir, 'oci-auth'), { seed: 'push-auth', layerSizes: [6 * MiB] });

  it('refuses anonymous pushes, wrong passwords and missing grants with what to do', async () => {
    await world.addUser('carol', 'carol password', { 'team/*': ['pull'] });
    const { layoutDir } = await image();
    const ref = `${world.secured.host}/team/app:v1`;
    const anonymous = await nimbus(['push', layoutDir, ref]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain(`${world.secured.host} requires a login to push to team/app: pass --username NAME --password-stdin`);
    const wrong = await nimbus(['push', layoutDir, ref, '--username', 'carol', '--password-stdin'], { input: 'not it\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the credentials of carol (from --username)');
    const pullOnly = await nimbus(['push', layoutDir, ref, '--username', 'carol', '--password-stdin'], { input: 'carol password\n' });
    expect(pullOnly.code).toBe(1);
    expect(pullOnly.stderr).toMatch(/denied it .*npx nimbus grant USER 'team\/app' pull,push/);
  }, 120_000);

  it('logs in with --password-stdin, NIMBUS_USERNAME/NIMBUS_PASSWORD, or what docker login stored', async () => {
    await world.addUser('dave', 'dave password', { 'team/*': ['pull', 'push'] });
    const { layoutDir, manifest } = await image();
    const ref = (tag: string) => `${world.secured.host}/team/app:${tag}`;
    const viaStdin = await nimbus(['push', layoutDir, ref('stdin'), '--username', 'dave', '--password-stdin'], { input: 'dave password\n' });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(viaStdin.stdout).toBe(`${manifest.digest}\n`);
    const viaEnv = await nimbus(['push', layoutDir, ref('env')], { env: { NIMBUS_USERNAME: 'dave', NIMBUS_PASSWORD: 'dave password' } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);

    // docker login stores the refresh token the token endpoint hands out with offline_token=true.
    const login = await fetchFrom(world.secured, '/token?service=nimbus-test&offline_token=true&client_id=docker', {
      headers: { authorization: `Basic ${Buffer.from('dave:dave password').toString('base64')}` },
    });
    const { refresh_token: refreshToken } = (await login.json()) as { refresh_token: string };
    const dockerConfig = join(world.dir, 'docker-config');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({
      auths: { [world.secured.host]: { auth: Buffer.from('dave:').toString('base64'), identitytoken: refreshToken } },
    }));
    const viaDocker = await nimbus(['push', layoutDir, ref('docker')], { env: { DOCKER_CONFIG: dockerConfig } });
    expect(viaDocker.code, viaDocker.stderr).toBe(0);
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({
      auths: { [`http://${world.secured.host}`]: { auth: Buffer.from('dave:dave password').toString('base64') } },
    }));
    const viaBasic = await nimbus(['push', layoutDir, ref('basic')], { env: { DOCKER_CONFIG: dockerConfig } });
    expect(viaBasic.code, viaBasic.stderr).toBe(0);
  }, 120_000);
});

describe('nimbus push: mistakes', () => {
  it('says when the registry does not take direct uploads', async () => {
    const image = await buildOciImage(join(world.dir, 'oci-disk'), { seed: 'push-disk', layerSizes: [6 * MiB] });
    const run = await nimbus(['push', image.layoutDir, `${world.disk.host}/push/disk:v1`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${world.disk.host} does not support direct uploads`);
    expect(run.stderr).toContain('docker push or skopeo copy');
  }, 60_000);

  it('explains unknown sources and references', async () => {
    const junk = join(world.dir, 'junk.bin');
    await writeFile(junk, 'this is not a tar archive at all, not even close. '.repeat(20));
    const cases: Array<[string[], RegExp]> = [
      [['push', junk, `${world.open.host}/x:v1`], /is not a tar archive .*OCI layout directory, a docker save tar/],
      [['push', join(world.dir, 'missing'), `${world.open.host}/x:v1`], /no such file or directory/],
      [['push', world.dir, `${world.open.host}/x:v1`], /has neither index.json nor manifest.json: unknown format/],
      [['push', junk, 'app:v1'], /does not name a registry host/],
      [['push', junk, `${world.open.host}/Upper:v1`], /not a valid repository name/],
      [['push', '-', `${world.open.host}/x:v1`, '--password-stdin', '--username', 'u'], /stdin cannot carry both/],
    ];
    for (const [args, message] of cases) {
      const run = await nimbus(args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    const help = await nimbus(['push', '--help']);
    expect(help.code).toBe(0);
    for (const text of ['SOURCE is one of', 'docker save', 'NIMBUS_USERNAME', '--parallel', 'DIGEST_INVALID', 'Examples:']) expect(help.stdout).toContain(text);
  }, 60_000);
});

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** tar + gzip of a layout directory, members named relative to it (as `tar -C dir -czf`). */
async function execTar(dir: string, out: string): Promise<void> {
  const plain = `${out}.tar`;
  await promisify(execFile)('tar', ['-C', dir, '-cf', plain, '.']);
  await pipeline(createReadStream(plain), createGzip({ level: 1 }), createWriteStream(out));
}
