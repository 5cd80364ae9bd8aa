import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Skopeo } from '../../harness/clients/skopeo';
import { blobContent, commitUpload, patchChunks, patchStream, type FetchLike } from './blob-upload';
import type { DevAws } from './dev-aws';
import type { BenchImage } from './images';

/**
 * The clients of each upload lane, timed from the first request to the last answer.
 * Uploads of raw blobs go through global fetch with the registry's login on requests to
 * the gateway only: upload Locations carry their own signed capability, as clients use them.
 */

function gatewayFetch(dev: DevAws): FetchLike {
  const gateway = new URL(dev.url).origin;
  return (request) => {
    if (new URL(request.url).origin === gateway) request.headers.set('authorization', dev.authorization);
    return fetch(request);
  };
}

/** POST /v2/<repo>/blobs/uploads/ through the gateway: the absolute Location and the advertised chunk limit. */
async function openUpload(dev: DevAws, repository: string): Promise<{ location: URL; chunkMaxLength: number | undefined }> {
  const response = await gatewayFetch(dev)(new Request(`${dev.url}/v2/${repository}/blobs/uploads/`, { method: 'POST' }));
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`open upload: HTTP ${response.status}, expected 202`);
  const limit = response.headers.get('oci-chunk-max-length');
  return { location: new URL(response.headers.get('location')!, dev.url), chunkMaxLength: limit ? Number(limit) : undefined };
}

/**
 * Lane 1 as docker sends a layer: POST through the gateway, one streamed PATCH of every
 * byte with no Content-Length (chunked transfer encoding) to the Location, which points at
 * the upload endpoint, then PUT ?digest=. Wall time in ms.
 */
export async function streamedUpload(dev: DevAws, size: number): Promise<number> {
  const blob = blobContent(size);
  const fetchWithLogin = gatewayFetch(dev);
  const started = performance.now();
  const { location } = await openUpload(dev, 'bench/lanes-stream');
  if (dev.uploadEndpoint && location.origin !== dev.uploadEndpoint.url) {
    throw new Error(`the upload Location ${location.origin} is not the upload endpoint ${dev.uploadEndpoint.url}`);
  }
  const next = await patchStream(fetchWithLogin, location, blob.stream());
  await commitUpload(fetchWithLogin, next, blob.digest);
  return performance.now() - started;
}

/**
 * Lane 2 as a chunking client sends a layer through the Lambda: POST, PATCHes of the
 * advertised OCI-Chunk-Max-Length with Content-Range, PUT ?digest=. Wall time in ms and the chunk size.
 */
export async function chunkedUpload(dev: DevAws, size: number): Promise<{ ms: number; chunkBytes: number }> {
  const blob = blobContent(size);
  const fetchWithLogin = gatewayFetch(dev);
  const started = performance.now();
  const { location, chunkMaxLength } = await openUpload(dev, 'bench/lanes-chunked');
  if (!chunkMaxLength) throw new Error('the registry advertised no OCI-Chunk-Max-Length: is the upload endpoint off?');
  const next = await patchChunks(fetchWithLogin, location, blob, chunkMaxLength);
  await commitUpload(fetchWithLogin, next, blob.digest);
  return { ms: performance.now() - started, chunkBytes: chunkMaxLength };
}

/** Lane 1 with a real client: skopeo copy of the image from its OCI layout. Wall time in ms. */
export async function skopeoPush(dev: DevAws, skopeo: Skopeo, cacheDir: string, image: BenchImage): Promise<number> {
  await skopeo.login(dev.host, dev.credentials);
  // Empty blob-info cache: otherwise skopeo may turn uploads into mount attempts.
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  const started = performance.now();
  const digest = await skopeo.copy(`oci:${image.image.layoutDir}:${image.image.refName}`, `docker://${dev.host}/bench/lanes-skopeo:latest`);
  const ms = performance.now() - started;
  if (digest !== image.image.manifest.digest) throw new Error(`skopeo pushed ${digest}, expected ${image.image.manifest.digest}`);
  return ms;
}

/** The nimbus CLI's command line, as its pid is found among this process's children. */
export const NIMBUS_CLI_SCRIPT = 'bin/nimbus.mjs';

/**
 * Lane 3: `npx nimbus push LAYOUT HOST/bench/lanes-direct:latest` with its defaults
 * (parallel parts, waits for the registry's background verification). Wall time in ms,
 * from spawning the CLI to its exit.
 */
export async function nimbusPush(repoRoot: string, dev: DevAws, image: BenchImage, parallel: number): Promise<number> {
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [
      NIMBUS_CLI_SCRIPT, 'push', image.image.layoutDir, `${dev.host}/bench/lanes-direct:latest`, '--parallel', String(parallel), '--progress', 'plain',
    ], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent',
        NIMBUS_USERNAME: dev.credentials.username, NIMBUS_PASSWORD: dev.credentials.password,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`nimbus push exited ${code}: ${stderr.trim().split('\n').slice(-6).join(' | ')}`);
  if (stdout.trim() !== image.image.manifest.digest) throw new Error(`nimbus push printed ${stdout.trim()}, expected ${image.image.manifest.digest}`);
  if (!/verif/i.test(stderr)) throw new Error(`nimbus push did not report a verification: ${stderr.slice(-500)}`);
  return ms;
}

export const skopeoCacheDir = (dir: string) => join(dir, 'blob-info-cache');
