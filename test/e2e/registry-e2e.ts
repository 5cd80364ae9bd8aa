import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DockerDaemon } from '../../harness/clients/docker';
import { Podman } from '../support/clients/podman';
import { Skopeo } from '../../harness/clients/skopeo';
import type { RegistryTarget } from '../support/registry-target';
import { buildTestImages, withLogs, type E2EContext } from './e2e-context';
import { dockerBigLayer } from './scenarios/docker';
import { catalogSurvivesRestart } from './scenarios/persistence';
import { podmanManifestList, podmanPushPull } from './scenarios/podman';
import { skopeoRoundTrip } from './scenarios/skopeo';

/** Real clients move real bytes; these bound a hung client, not a slow one. */
const CLIENT_TIMEOUT = { timeout: 240_000 };

/**
 * The end-to-end suite: real skopeo, podman and docker clients against `target`, with
 * images built by the test (nothing is pulled from the internet). Scenarios share one
 * registry but not their repositories, and none depends on what another pushed.
 */
export function defineRegistryE2E(target: RegistryTarget): void {
  describe(`${target.name}: real clients end to end`, () => {
    const ctx = {} as E2EContext;
    let work: string | undefined;

    beforeAll(async () => {
      // Lowercase on purpose: podman 4 names an image pulled from oci:<path> after the path.
      work = join(tmpdir(), `nimbus-e2e-${randomUUID().slice(0, 8)}`);
      await mkdir(work, { recursive: true });
      ctx.work = work;
      // allSettled, not all: whatever did start must be assigned so afterAll can stop it.
      const results = await Promise.allSettled([
        target.start().then((registry) => (ctx.registry = registry)),
        buildTestImages(join(work, 'images')).then((images) => (ctx.images = images)),
        Skopeo.create(join(work, 'skopeo')).then((skopeo) => (ctx.skopeo = skopeo)),
        Podman.create(join(work, 'podman')).then((podman) => (ctx.podman = podman)),
        DockerDaemon.start().then((dockerd) => (ctx.dockerd = dockerd)),
      ]);
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      ctx.docker = await ctx.dockerd.client();
      // A target with auth (the deployed path) gets real logins, as its users would do.
      const { host, credentials } = ctx.registry;
      if (credentials) await Promise.all([ctx.skopeo, ctx.podman, ctx.docker].map((client) => client.login(host, credentials)));
    }, 300_000);

    afterAll(async () => {
      await Promise.allSettled([ctx.dockerd?.stop(), ctx.registry?.stop()]);
      if (work) await rm(work, { recursive: true, force: true });
    }, 120_000);

    const registryLogs = () => [{ name: `registry (${target.name})`, logs: () => ctx.registry?.logs() ?? '(not started)' }];
    const dockerLogs = () => [...registryLogs(), { name: 'dockerd', logs: () => ctx.dockerd?.logs() ?? '(not started)' }];

    it('skopeo: copy an OCI layout in and out of team/app/api, inspect, list tags, delete', CLIENT_TIMEOUT, () =>
      withLogs(registryLogs(), () => skopeoRoundTrip(ctx)));

    it('podman: push, remove, pull back', CLIENT_TIMEOUT, () =>
      withLogs(registryLogs(), () => podmanPushPull(ctx)));

    it('podman: manifest create/add/push --all of a linux/amd64 + linux/arm64 index', CLIENT_TIMEOUT, () =>
      withLogs(registryLogs(), () => podmanManifestList(ctx)));

    // docker sends each layer as one request: only targets without a per-request body
    // limit can take a 50 MiB layer (the Lambda-only path takes chunking clients instead).
    if ((target.maxRequestBodyBytes ?? Infinity) >= 64 * 1024 * 1024) {
      it('docker: push a 50 MiB layer, rmi, pull it back', CLIENT_TIMEOUT, () =>
        withLogs(dockerLogs(), () => dockerBigLayer(ctx)));
    }

    it('catalog and tags list everything pushed, before and after a restart', CLIENT_TIMEOUT, () =>
      withLogs(dockerLogs(), () => catalogSurvivesRestart(ctx)));
  });
}
