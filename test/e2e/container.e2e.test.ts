import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/dev/free-port';
import { writeContainersConfig } from '../../harness/clients/containers-config';
import { clientEnv, requireTool, run, type RunResult } from '../../harness/clients/process';
import { Skopeo } from '../../harness/clients/skopeo';
import { buildOciImage, KiB } from '../../harness/oci-image';
import { exitCode, ROOT } from '../local/local-server';

/**
 * The root Dockerfile, built and run under podman with no internet: the base is a Debian
 * root filesystem made by mmdebstrap from this machine's Debian mirror, plus the Node.js
 * binary that runs these tests; the image adds the bundle of `npm run build`.
 */
describe('the container image (Dockerfile)', () => {
  let dir: string;
  let podman: (args: string[], timeoutMs?: number) => Promise<RunResult>;
  let port: number;
  let skopeo: Skopeo;
  const container = 'nimbus-image-test';

  beforeAll(async () => {
    requireTool('podman', 'podman');
    requireTool('mmdebstrap', 'mmdebstrap');
    requireTool('runc', 'runc');
    dir = await mkdtemp(join(tmpdir(), 'nimbus-image-'));
    await Promise.all(['root', 'run', 'tmp', 'networks', 'context/dist'].map((name) => mkdir(join(dir, name), { recursive: true })));
    const config = await writeContainersConfig(join(dir, 'config'));
    const global = [
      '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'),
      '--network-config-dir', join(dir, 'networks'), '--storage-driver', 'vfs', '--events-backend', 'file', '--cgroup-manager', 'cgroupfs',
    ];
    podman = (args, timeoutMs = 120_000) => run('podman', [...global, ...args], { env: clientEnv(config.env), timeoutMs });

    await Promise.all([debianBase(join(dir, 'base.tar')), bundleContext(join(dir, 'context'))]);
    await podman(['import', join(dir, 'base.tar'), 'localhost/nimbus-test-base:latest'], 300_000);
    // chroot isolation: RUN steps need no OCI runtime. docker format: OCI images have no HEALTHCHECK.
    await podman(['build', '--isolation', 'chroot', '--format', 'docker', '--build-arg', 'BASE=localhost/nimbus-test-base:latest',
      '--tag', 'localhost/nimbus:test', join(dir, 'context')], 600_000);
    port = await freePort();
    skopeo = await Skopeo.create(join(dir, 'skopeo'));
  }, 900_000);

  afterAll(async () => {
    await podman?.(['rm', '--force', '--time', '0', container]).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs as a non-root user with its data in a volume, serves push and pull, and comes back with its data after its process is killed', async () => {
    // runc, and rlimits within this machine's: the sandbox refuses to raise them, and crun refuses hybrid cgroups.
    await podman(['run', '--detach', '--name', container, '--restart=always', '--runtime', 'runc',
      '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096', '--network', 'host',
      '--volume', 'nimbus-data:/var/lib/nimbus', '--env', `PORT=${port}`, 'localhost/nimbus:test']);
    const url = `http://127.0.0.1:${port}`;
    await untilHealthy(url);
    // The image's HEALTHCHECK, run now (podman exits non-zero, and run() throws, when it fails).
    expect((await podman(['inspect', '--format', '{{json .Config.Healthcheck.Test}}', container])).stdout).toContain('--healthcheck');
    await podman(['healthcheck', 'run', container]);
    const first = await inspect();
    expect(first.user).toBe('10001:10001');
    expect((await readFile(`/proc/${first.pid}/status`, 'utf8')).match(/^Uid:\s+(\d+)/m)?.[1]).toBe('10001');

    const image = await buildOciImage(join(dir, 'layout'), { seed: 'image', layerSizes: [16 * KiB, 128 * KiB] }, 'v1');
    const reference = `docker://127.0.0.1:${port}/image/app:v1`;
    expect(await skopeo.copy(`oci:${image.layoutDir}:v1`, reference, { preserveDigests: true })).toBe(image.manifest.digest);

    process.kill(first.pid, 'SIGKILL');
    const second = await untilRestarted(first.pid);
    expect(second.restarts).toBeGreaterThan(first.restarts);
    await untilHealthy(url);
    expect(await skopeo.copy(reference, `oci:${join(dir, 'pulled')}:v1`, { preserveDigests: true })).toBe(image.manifest.digest);

    // PID 1 handles SIGTERM: it drains, logs, and exits 0 (no SIGKILL after the timeout).
    await podman(['stop', '--time', '30', container]);
    expect((await inspect()).exitCode).toBe(0);
    expect((await podman(['logs', container])).stdout).toMatch(/"msg":"stopped","signal":"SIGTERM"/);
  }, 300_000);

  async function inspect(): Promise<{ pid: number; restarts: number; exitCode: number; user: string }> {
    const format = '{{.State.Pid}} {{.RestartCount}} {{.State.ExitCode}} {{.Config.User}}';
    const [pid, restarts, code, user] = (await podman(['inspect', '--format', format, container])).stdout.trim().split(' ');
    return { pid: Number(pid), restarts: Number(restarts), exitCode: Number(code), user: user ?? '' };
  }

  async function untilRestarted(oldPid: number): Promise<{ pid: number; restarts: number }> {
    for (let poll = 0; poll < 300; poll++) {
      const state = await inspect();
      if (state.pid > 0 && state.pid !== oldPid) return state;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('the restart policy did not bring the container back within a minute');
  }
});

async function untilHealthy(url: string): Promise<void> {
  for (let poll = 0; poll < 300; poll++) {
    const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url}/readyz never answered 200`);
}

/** A minimal Debian (essential packages, libstdc++) with this test run's node at /usr/local/bin/node. */
async function debianBase(tar: string): Promise<void> {
  const release = await readFile('/etc/os-release', 'utf8');
  const suite = /^VERSION_CODENAME=(.+)$/m.exec(release)?.[1]?.replace(/"/g, '');
  if (!suite) throw new Error('no VERSION_CODENAME in /etc/os-release: cannot tell mmdebstrap which suite to use');
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].find((path) => existsSync(path));
  await run('mmdebstrap', [
    '--quiet', '--variant=essential', '--include=libstdc++6',
    `--customize-hook=copy-in ${process.execPath} /usr/local/bin`,
    suite, tar, ...(sources ? [sources] : []),
  ], { env: clientEnv({}), timeoutMs: 600_000 });
}

/** The build context: the Dockerfile, its .dockerignore, and the bundle of npm run build. */
async function bundleContext(context: string): Promise<void> {
  await Promise.all(['Dockerfile', '.dockerignore'].map((name) => copyFile(join(ROOT, name), join(context, name))));
  const build = spawn(process.execPath, [join(ROOT, 'tools/build/server.mjs'), join(context, 'dist', 'nimbus-server.mjs')], { stdio: 'inherit' });
  expect(await exitCode(build)).toBe(0);
}
