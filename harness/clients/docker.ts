import { copyFile, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogBuffer, ServerProcess } from '../server-process';
import { clientEnv, requireTool, run, type RunResult } from './process';

/** Unix socket paths are limited to 108 bytes (including the terminator) on Linux. */
const MAX_SOCKET_PATH = 100;

export interface DockerImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  RootFS: { Layers: string[] };
}

/**
 * A private dockerd: its own data root, exec root, socket and containerd namespace, vfs
 * storage and no networking changes, so tests never see or touch the machine's docker.
 * Registries on 127.0.0.0/8 are insecure (plain HTTP) to docker by default.
 */
export class DockerDaemon {
  private constructor(private readonly dir: string, readonly socket: string, private readonly server: ServerProcess, private readonly log: LogBuffer) {}

  /**
   * `privateCertsDir`: dockerd runs in a mount namespace of its own with a private directory
   * bound over /etc/docker, so `trust()` can give it a registry's CA in certs.d (where dockerd
   * looks, and nowhere else) without touching the machine's /etc/docker.
   */
  static async start(options: { privateCertsDir?: boolean; daemonConfig?: Record<string, unknown> } = {}): Promise<DockerDaemon> {
    const binary = requireTool('dockerd', 'docker.io');
    requireTool('docker', 'docker.io');
    // The socket path must stay short; fall back to /tmp when TMPDIR is deep.
    let dir = await mkdtemp(join(tmpdir(), 'nd-'));
    if (join(dir, 'd.sock').length > MAX_SOCKET_PATH) {
      await rm(dir, { recursive: true, force: true });
      dir = await mkdtemp('/tmp/nd-');
    }
    const socket = join(dir, 'd.sock');
    const namespace = `nimbus-e2e-${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    // daemonConfig: daemon.json settings a test needs (registry-mirrors, ...).
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(options.daemonConfig ?? {}));
    const log = new LogBuffer(2000);
    const daemonArgs = [
      '--config-file', join(dir, 'daemon.json'),
      '--storage-driver=vfs', '--iptables=false', '--ip6tables=false', '--bridge=none',
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'x'), '--pidfile', join(dir, 'dockerd.pid'),
      '--containerd-namespace', namespace, '--containerd-plugins-namespace', `${namespace}-plugins`,
      '-H', `unix://${socket}`,
    ];
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
    let server: ServerProcess;
    if (options.privateCertsDir) {
      requireTool('unshare', 'util-linux');
      await mkdir(join(dir, 'etc-docker', 'certs.d'), { recursive: true });
      await mkdir('/etc/docker', { recursive: true });
      // $0 is the private /etc/docker, "$@" dockerd's command line; exec keeps dockerd's pid the child's.
      const script = 'mount --bind "$0" /etc/docker && exec "$@"';
      server = new ServerProcess('dockerd', 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, join(dir, 'etc-docker'), binary, ...daemonArgs], { log, env });
    } else {
      server = new ServerProcess('dockerd', binary, daemonArgs, { log, env });
    }
    const daemon = new DockerDaemon(dir, socket, server, log);
    try {
      await daemon.waitUntilReady();
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return daemon;
  }

  logs(): string {
    return this.log.text();
  }

  /** Trusts `caFile` for the registry at `hostPort` (certs.d/<host:port>/ca.crt); needs `privateCertsDir`. */
  async trust(hostPort: string, caFile: string): Promise<void> {
    const certs = join(this.dir, 'etc-docker', 'certs.d', hostPort);
    await mkdir(certs, { recursive: true });
    await copyFile(caFile, join(certs, 'ca.crt'));
  }

  /** A docker CLI bound to this daemon, with a private DOCKER_CONFIG. */
  async client(): Promise<Docker> {
    const config = join(this.dir, 'cli-config');
    await mkdir(config, { recursive: true });
    await writeFile(join(config, 'config.json'), '{}');
    return new Docker(this.socket, { DOCKER_CONFIG: config, HOME: this.dir });
  }

  /** Stops dockerd (which stops its containerd) and removes everything it stored. */
  async stop(): Promise<void> {
    const containerdPid = await readFile(join(this.dir, 'x', 'containerd', 'containerd.pid'), 'utf8').then(Number, () => undefined);
    await this.server.stop(30_000);
    // If dockerd had to be killed, its containerd is still ours to stop.
    if (containerdPid) {
      try {
        process.kill(containerdPid, 'SIGTERM');
      } catch {
        // already gone, as expected after a clean shutdown
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.server.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw this.server.failure('exited before it was ready');
      if (await ping(this.socket)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw this.server.failure(`did not answer on ${this.socket} within ${timeoutMs / 1000} s`);
  }
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** The docker CLI, talking to one private daemon. */
export class Docker {
  constructor(private readonly socket: string, private readonly env: Record<string, string>) {}

  /** docker load; resolves with the names it loaded. */
  async load(archive: string): Promise<string[]> {
    const { stdout } = await this.docker(['load', '--input', archive], 300_000);
    return [...stdout.matchAll(/^Loaded image(?: ID)?: (\S+)$/gm)].map((match) => match[1]!);
  }

  async tag(image: string, name: string): Promise<void> {
    await this.docker(['tag', image, name]);
  }

  /** docker push; resolves with the manifest digest docker reports. */
  async push(name: string): Promise<string> {
    const { stdout } = await this.docker(['push', name], 300_000);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1];
    if (!digest) throw new Error(`docker push ${name} printed no digest:\n${stdout}`);
    return digest;
  }

  async pull(name: string): Promise<void> {
    await this.docker(['pull', name], 300_000);
  }

  async removeImages(...images: string[]): Promise<void> {
    await this.docker(['rmi', '--force', ...images]);
  }

  async inspectImage(image: string): Promise<DockerImage> {
    const [first] = JSON.parse((await this.docker(['image', 'inspect', image])).stdout) as DockerImage[];
    if (!first) throw new Error(`docker image inspect ${image} returned nothing`);
    return first;
  }

  /** Image names (repository:tag) the daemon holds. */
  async imageNames(): Promise<string[]> {
    const { stdout } = await this.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    return stdout.split('\n').filter(Boolean);
  }

  /** docker login, password on stdin; docker keeps the refresh token it gets in this client's config. */
  async login(host: string, credentials: { username: string; password: string }): Promise<void> {
    await this.docker(['login', '--username', credentials.username, '--password-stdin', host], 60_000, credentials.password);
  }

  private docker(args: string[], timeoutMs = 120_000, input?: string): Promise<RunResult> {
    return run('docker', ['-H', `unix://${this.socket}`, ...args], { env: clientEnv(this.env), timeoutMs, ...(input === undefined ? {} : { input }) });
  }
}
