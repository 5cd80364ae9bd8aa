import { randomUUID } from 'node:crypto';
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDaemon, type Docker } from '../../harness/clients/docker';
import { Podman } from '../support/clients/podman';
import { Skopeo } from '../../harness/clients/skopeo';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { buildOciImage, KiB, MiB, writeDockerArchive, type BuiltImage } from '../../harness/oci-image';
import { hexOf, layoutBlobs, withLogs } from './e2e-context';

/**
 * The deployed path's big layers, through `npm run dev:aws` with its upload endpoint:
 * unmodified docker, podman and skopeo each push an image with a 500 MiB random layer in
 * one request per layer (the Lambda could carry 4.45 MiB of it), and pull it back digest
 * for digest. The upload endpoint streams each layer into S3 parts; its peak memory over
 * each push is measured against its part size.
 */
const BIG = 500 * MiB;
/** dev:aws cuts 8 MiB parts (fauxqs takes bodies up to 11 MiB); see functions/dev/upload-endpoint-process.ts. */
const PART_SIZE = 8 * MiB;
/**
 * Peak RSS the upload endpoint may add over its idle footprint: at most two parts per
 * upload in flight (one filling, one uploading) plus the copy made when a part is cut,
 * for the two layers docker pushes at once, and generous room for garbage not yet collected.
 */
const MAX_RSS_GROWTH = 8 * PART_SIZE + 96 * MiB;
const CLIENT_TIMEOUT = { timeout: 600_000 };

/** Peak and current resident memory of a process, from /proc (Linux). */
async function memoryOf(pid: number): Promise<{ peak: number; current: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kib('VmHWM'), current: kib('VmRSS') };
}

/** Forgets a process's high-water mark (Linux clear_refs 5): the next peak is what follows alone. */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Body bytes the upload endpoint took in for `repository`, from its one JSON line per request. */
function endpointBytesIn(logs: string, repository: string): number {
  let total = 0;
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{"') || !line.includes('"msg":"request"')) continue;
    const entry = JSON.parse(line) as { path?: string; bytesIn?: number };
    if (entry.path?.startsWith(`/v2/${repository}/blobs/uploads/`)) total += entry.bytesIn ?? 0;
  }
  return total;
}

describe('dev:aws upload endpoint: 500 MiB layers from docker, podman and skopeo', () => {
  let work: string;
  let registry: RunningDevAws;
  let image: BuiltImage & { archive: string; archiveTag: string };
  let skopeo: Skopeo;
  let podman: Podman;
  let dockerd: DockerDaemon;
  let docker: Docker;
  let endpoint: { url: string; pid: number };
  let idleRss: number;

  beforeAll(async () => {
    work = join(tmpdir(), `nimbus-big-${randomUUID().slice(0, 8)}`);
    await mkdir(work, { recursive: true });
    const build = async () => {
      const built = await buildOciImage(join(work, 'layout'), { seed: 'e2e-500', layerSizes: [16 * KiB, BIG] }, 'big');
      const archiveTag = 'e2e/big500:v1';
      const archive = join(work, 'big500.tar');
      await writeDockerArchive(built, archive, [archiveTag]);
      return { ...built, archive, archiveTag };
    };
    const results = await Promise.allSettled([
      devAwsTarget().start().then((started) => (registry = started)),
      build().then((built) => (image = built)),
      Skopeo.create(join(work, 'skopeo')).then((client) => (skopeo = client)),
      Podman.create(join(work, 'podman')).then((client) => (podman = client)),
      DockerDaemon.start().then((daemon) => (dockerd = daemon)),
    ]);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    docker = await dockerd.client();
    await Promise.all([
      docker.login(registry.host, registry.credentials),
      podman.login(registry.host, registry.credentials),
      skopeo.login(registry.host, registry.credentials),
    ]);
    endpoint = registry.uploadEndpoint()!;
    expect(endpoint, 'dev:aws started no upload endpoint').toBeDefined();
    idleRss = (await memoryOf(endpoint.pid)).current;
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled([dockerd?.stop(), registry?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  /**
   * Runs one client's push of the big layer into `repository` and checks the endpoint's
   * memory over it: the peak is reset first, so it is this push's, and the push must have
   * streamed the layer through the endpoint (not mounted it, not bypassed it).
   */
  async function withinPartBuffers(client: string, repository: string, push: () => Promise<void>): Promise<void> {
    expect(registry.uploadEndpoint(), 'the upload endpoint was restarted before this push').toEqual(endpoint);
    await resetPeak(endpoint.pid);
    await push();
    const { peak } = await memoryOf(endpoint.pid);
    expect(registry.uploadEndpoint(), 'the upload endpoint was restarted during this push').toEqual(endpoint);
    // The request lines reach the test through dev:aws's output, a moment after the responses.
    for (let poll = 0; endpointBytesIn(registry.logs(), repository) < BIG; poll++) {
      if (poll === 100) throw new Error(`the upload endpoint took in ${endpointBytesIn(registry.logs(), repository)} bytes for ${repository}, not the ${BIG}-byte layer`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(`${client}: upload endpoint peak RSS ${(peak / MiB).toFixed(1)} MiB (idle ${(idleRss / MiB).toFixed(1)} MiB, part size ${PART_SIZE / MiB} MiB)`);
    expect(peak - idleRss).toBeLessThan(MAX_RSS_GROWTH);
  }

  const logs = () => [
    { name: 'registry (dev:aws)', logs: () => registry?.logs() ?? '(not started)' },
    { name: 'dockerd', logs: () => dockerd?.logs() ?? '(not started)' },
  ];

  it('hands out upload Locations on the upload endpoint, without a per-request limit', async () => {
    const auth = `Basic ${Buffer.from(`${registry.credentials.username}:${registry.credentials.password}`).toString('base64')}`;
    const response = await fetch(`${registry.url}/v2/e2e/probe/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    expect(response.status).toBe(202);
    expect(new URL(response.headers.get('location')!).origin).toBe(endpoint.url);
    expect(response.headers.get('oci-chunk-max-length')).toBeNull();
  });

  it('docker: push a 500 MiB layer in one PATCH within the part buffers, rmi, pull it back', CLIENT_TIMEOUT, () => withLogs(logs(), async () => {
    const name = `${registry.host}/e2e/big-docker:v1`;
    expect(await docker.load(image.archive)).toContain(image.archiveTag);
    await docker.tag(image.archiveTag, name);
    let pushed = '';
    await withinPartBuffers('docker', 'e2e/big-docker', async () => {
      pushed = await docker.push(name);
    });
    await docker.removeImages(name, image.archiveTag);
    await docker.pull(name);
    const pulled = await docker.inspectImage(name);
    expect(pulled.Id).toBe(image.config.digest);
    expect(pulled.RootFS.Layers).toEqual(image.layers.map((layer) => layer.diffId));
    expect(pulled.RepoDigests).toContain(`${registry.host}/e2e/big-docker@${pushed}`);
    await docker.removeImages(name);
  }));

  it('podman: push a 500 MiB layer within the part buffers, rmi, pull it back', CLIENT_TIMEOUT, () => withLogs(logs(), async () => {
    const name = `${registry.host}/e2e/big-podman:v1`;
    const id = await podman.pull(`oci:${image.layoutDir}:big`);
    expect(id).toBe(hexOf(image.config.digest));
    await podman.tag(id, name);
    let pushed = '';
    await withinPartBuffers('podman', 'e2e/big-podman', async () => {
      pushed = await podman.push(name);
    });
    await podman.removeImages(id);
    await podman.pull(name);
    const pulled = await podman.inspectImage(name);
    expect(pulled.Digest).toBe(pushed);
    expect(pulled.Id).toBe(hexOf(image.config.digest));
    expect(pulled.RootFS.Layers).toEqual(image.layers.map((layer) => layer.diffId));
    await podman.removeImages(id);
  }));

  it('skopeo: copy a 500 MiB layer in within the part buffers, and out, digest for digest', CLIENT_TIMEOUT, () => withLogs(logs(), async () => {
    const reference = `docker://${registry.host}/e2e/big-skopeo:v1`;
    await withinPartBuffers('skopeo', 'e2e/big-skopeo', async () => {
      expect(await skopeo.copy(`oci:${image.layoutDir}:big`, reference, { preserveDigests: true })).toBe(image.manifest.digest);
    });
    const pulledDir = join(work, 'pulled');
    await mkdir(pulledDir, { recursive: true });
    expect(await skopeo.copy(reference, `oci:${pulledDir}:v1`, { preserveDigests: true })).toBe(image.manifest.digest);
    expect(await layoutBlobs(pulledDir)).toEqual([...image.digests].sort());
  }));

});
