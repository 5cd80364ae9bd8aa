import { mkdir, readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { writeContainersConfig, type ContainersConfig } from '../../../harness/clients/containers-config';
import { clientEnv, requireTool, run, type RunResult } from '../../../harness/clients/process';

export interface PodmanImage {
  Id: string;
  /** Digest of the manifest the image was pulled or pushed as. */
  Digest: string;
  RepoDigests: string[];
  RootFS: { Layers: string[] };
  Architecture: string;
  Os: string;
}

/**
 * Drives podman with storage of its own (--root/--runroot/--tmpdir in `dir`, vfs driver),
 * so it never touches the machine's images. Its blob-info cache lives under --root too.
 */
export class Podman {
  private constructor(private readonly dir: string, private readonly config: ContainersConfig) {}

  static async create(dir: string): Promise<Podman> {
    requireTool('podman', 'podman');
    await Promise.all(['root', 'run', 'tmp', 'networks'].map((name) => mkdir(join(dir, name), { recursive: true })));
    return new Podman(dir, await writeContainersConfig(join(dir, 'config')));
  }

  /** Pulls `reference` (docker://, oci:, ... or a registry name); resolves with the image id. */
  async pull(reference: string, options: { arch?: string } = {}): Promise<string> {
    const { stdout } = await this.podman(['pull', '--tls-verify=false', '--quiet', ...(options.arch ? ['--arch', options.arch] : []), reference], 300_000);
    return stdout.trim().split('\n').at(-1)!;
  }

  /** Pushes a local image; resolves with the digest of the manifest written. */
  async push(image: string, destination?: string): Promise<string> {
    const digestFile = join(this.dir, `digest-${randomUUID()}`);
    await this.podman(['push', '--tls-verify=false', '--digestfile', digestFile, image, ...(destination ? [destination] : [])], 300_000);
    return (await readFile(digestFile, 'utf8')).trim();
  }

  async tag(image: string, name: string): Promise<void> {
    await this.podman(['tag', image, name]);
  }

  async removeImages(...images: string[]): Promise<void> {
    await this.podman(['rmi', '--force', ...images]);
  }

  async inspectImage(image: string): Promise<PodmanImage> {
    const [first] = JSON.parse((await this.podman(['image', 'inspect', image])).stdout) as PodmanImage[];
    if (!first) throw new Error(`podman image inspect ${image} returned nothing`);
    return first;
  }

  /** Local image names (repository:tag). */
  async imageNames(): Promise<string[]> {
    const { stdout } = await this.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    return stdout.split('\n').filter(Boolean);
  }

  async manifestCreate(list: string): Promise<void> {
    await this.podman(['manifest', 'create', list]);
  }

  async manifestAdd(list: string, image: string): Promise<void> {
    await this.podman(['manifest', 'add', '--tls-verify=false', list, image], 300_000);
  }

  /** podman manifest push --all; resolves with the digest of the index written. */
  async manifestPush(list: string, destination: string): Promise<string> {
    const digestFile = join(this.dir, `digest-${randomUUID()}`);
    await this.podman(['manifest', 'push', '--all', '--tls-verify=false', '--digestfile', digestFile, list, destination], 300_000);
    return (await readFile(digestFile, 'utf8')).trim();
  }

  /** podman login, password on stdin; the credentials land in this driver's auth file. */
  async login(host: string, credentials: { username: string; password: string }): Promise<void> {
    await this.podman(['login', '--tls-verify=false', '--username', credentials.username, '--password-stdin', host], 60_000, credentials.password);
  }

  private podman(args: string[], timeoutMs = 120_000, input?: string): Promise<RunResult> {
    const global = [
      '--root', join(this.dir, 'root'),
      '--runroot', join(this.dir, 'run'),
      '--tmpdir', join(this.dir, 'tmp'),
      '--network-config-dir', join(this.dir, 'networks'),
      '--storage-driver', 'vfs',
      '--events-backend', 'file',
      '--cgroup-manager', 'cgroupfs',
    ];
    return run('podman', [...global, ...args], { env: clientEnv(this.config.env), timeoutMs, ...(input === undefined ? {} : { input }) });
  }
}
