import { join } from 'node:path';
import { DockerDaemon } from '../../harness/clients/docker';
import { writeDockerArchive } from '../../harness/oci-image';
import { availableRegistries, copyStats, interleaved, timed, type CopyRun } from '../lib/registry-runs';
import { availability, type Section } from '../lib/section';
import { benchImages } from '../lib/shared';
import { copyNotes, copyTables, type PushData } from './push-skopeo';

/**
 * Section 1 with docker, through a private dockerd (vfs storage): docker push, then docker
 * pull after removing the image, Nimbus and registry:2 interleaved, a fresh registry per run.
 */
export const pushDocker: Section = {
  id: 'docker',
  title: 'Push and pull with docker, local disk',
  summary: 'docker push and pull (private dockerd) of the same three images into and out of Nimbus and registry:2',
  async run(ctx) {
    const { kinds, missing } = availableRegistries();
    const daemon = await availability('dockerd could not be started', () => DockerDaemon.start());
    const data: PushData = { client: 'docker', images: {} };
    try {
      const docker = await daemon.client();
      const dir = await ctx.tmp('nimbus-bench-docker-');
      for (const bench of await benchImages(ctx)) {
        const source = `bench/${bench.id}:source`;
        const archive = join(dir, `${bench.id}.tar`);
        ctx.log(`docker: loading ${bench.label}`);
        await writeDockerArchive(bench.image, archive, [source]);
        await docker.load(archive);
        const results = await interleaved(kinds, ctx.runs, ctx.repoRoot, async (server, kind, run): Promise<CopyRun> => {
          ctx.log(`docker push/pull ${bench.label} → ${kind}, run ${run + 1}/${ctx.runs}`);
          const name = `${server.host}/bench/${bench.id}:latest`;
          await docker.tag(source, name);
          const push = await timed(server, () => docker.push(name));
          // Both names gone, the image and its layers are gone: the pull fetches every byte.
          await docker.removeImages(name, source);
          const pull = await timed(server, () => docker.pull(name));
          await docker.tag(name, source);
          await docker.removeImages(name);
          return { pushMs: push.ms, pullMs: pull.ms, pushCpuMs: push.cpuMs, pullCpuMs: pull.cpuMs, peakRssBytes: server.peakRssBytes() };
        });
        await docker.removeImages(source);
        data.images[bench.id] = {
          label: bench.label, bytes: bench.bytes,
          registries: Object.fromEntries([...results].map(([kind, runs]) => [kind, copyStats(runs)])),
        };
      }
    } finally {
      await daemon.stop();
    }
    return {
      tables: copyTables('docker', data),
      notes: [...missing, ...copyNotes(), 'docker gzips each layer as it pushes and unpacks each layer (vfs storage) as it pulls: client work that weighs the same for both registries and narrows the ratio.'],
      data: data as unknown as Record<string, unknown>,
    };
  },
};
