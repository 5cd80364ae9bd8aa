import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Docker, DockerDaemon } from '../../harness/clients/docker';
import type { Podman } from '../support/clients/podman';
import type { Skopeo } from '../../harness/clients/skopeo';
import {
  buildOciImage, buildOciIndex, KiB, LINUX_AMD64, LINUX_ARM64, MiB, writeDockerArchive, type BuiltImage, type BuiltIndex,
} from '../../harness/oci-image';
import { authHeaders, type RunningTarget } from '../support/registry-target';

/** An image pushed and verified, which must survive a registry restart. */
export interface PushedImage {
  repository: string;
  tag: string;
  digest: string;
}

export interface TestImages {
  /** Small three-layer image for skopeo: team/app/api:v1. */
  api: BuiltImage;
  /** A different image tagged next to it, which a delete must leave alone. */
  apiNext: BuiltImage;
  podman: BuiltImage;
  /** linux/amd64 + linux/arm64, distinct layers. */
  multi: BuiltIndex;
  /** One 50 MiB random layer, also written as a docker-archive for `docker load`. */
  big: BuiltImage & { dockerArchive: string; archiveTag: string };
  /** Also written as a docker-archive, so docker pushes it and pulls it back after a restart. */
  restart: BuiltImage & { dockerArchive: string; archiveTag: string };
}

export interface E2EContext {
  registry: RunningTarget;
  work: string;
  images: TestImages;
  skopeo: Skopeo;
  podman: Podman;
  dockerd: DockerDaemon;
  docker: Docker;
}

/** Builds every image the suite pushes, once per run, under `dir`. */
export async function buildTestImages(dir: string): Promise<TestImages> {
  const layout = (name: string) => join(dir, 'layouts', name);
  const [api, apiNext, podman, multi, restart, bigImage] = await Promise.all([
    buildOciImage(layout('api'), { seed: 'e2e-api', layerSizes: [4 * KiB, 256 * KiB, 1 * MiB] }, 'v1'),
    buildOciImage(layout('api-next'), { seed: 'e2e-api-next', layerSizes: [8 * KiB] }, 'v3'),
    buildOciImage(layout('podman'), { seed: 'e2e-podman', layerSizes: [64 * KiB, 2 * MiB] }, 'v1'),
    buildOciIndex(layout('multi'), { seed: 'e2e-multi', layerSizes: [32 * KiB, 512 * KiB], platforms: [LINUX_AMD64, LINUX_ARM64] }, 'v1'),
    buildOciImage(layout('restart'), { seed: 'e2e-restart', layerSizes: [16 * KiB, 128 * KiB] }, 'v1'),
    buildOciImage(layout('big'), { seed: 'e2e-big', layerSizes: [16 * KiB, 50 * MiB] }, 'big'),
  ]);
  const archiveTag = 'e2e/docker:big';
  const dockerArchive = join(dir, 'docker-big.tar');
  const restartTag = 'e2e/restart-archive:v1';
  const restartArchive = join(dir, 'docker-restart.tar');
  await Promise.all([writeDockerArchive(bigImage, dockerArchive, [archiveTag]), writeDockerArchive(restart, restartArchive, [restartTag])]);
  return {
    api, apiNext, podman, multi,
    restart: { ...restart, dockerArchive: restartArchive, archiveTag: restartTag },
    big: { ...bigImage, dockerArchive, archiveTag },
  };
}

/**
 * Runs a scenario; on failure, appends what the registry (and other servers) printed last,
 * which holds the one JSON log line per request that shows the failing exchange.
 */
export async function withLogs(sources: Array<{ name: string; logs(): string }>, scenario: () => Promise<void>): Promise<void> {
  try {
    await scenario();
  } catch (error) {
    const context = sources.map(({ name, logs }) => `\n--- ${name}: last 60 log lines ---\n${logs().split('\n').slice(-60).join('\n')}`).join('');
    if (error instanceof Error) {
      error.message += context;
      throw error;
    }
    throw new Error(`${String(error)}${context}`);
  }
}

export function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** A fresh directory under the run's work dir for a client to write an OCI layout into. */
export async function layoutDirFor(ctx: E2EContext, ...parts: string[]): Promise<string> {
  const dir = join(ctx.work, 'pulled', ...parts);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The manifest digest an OCI layout's index.json names `refName`. */
export async function layoutRef(layoutDir: string, refName: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const entry = index.manifests.find((manifest) => manifest.annotations?.['org.opencontainers.image.ref.name'] === refName);
  if (!entry) throw new Error(`${layoutDir} has no image named ${refName}: ${JSON.stringify(index)}`);
  return entry.digest;
}

/** Every blob in an OCI layout, each checked against its name: a pulled blob must hash to its digest. */
export async function layoutBlobs(layoutDir: string): Promise<string[]> {
  const dir = join(layoutDir, 'blobs', 'sha256');
  const digests: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const actual = await sha256File(join(dir, name));
    if (actual !== `sha256:${name}`) throw new Error(`${dir}/${name} holds content with digest ${actual}`);
    digests.push(actual);
  }
  return digests;
}

/** GET <registry>/<path> as JSON, with the response in the error when it is not 200. */
export async function getJson<T>(registry: RunningTarget, path: string): Promise<T> {
  const response = await fetch(`${registry.url}${path}`, { headers: authHeaders(registry) });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${body.slice(0, 500)}`);
  return JSON.parse(body) as T;
}

export const hexOf = (digest: string) => digest.replace(/^sha256:/, '');
