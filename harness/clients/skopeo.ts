import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeContainersConfig, type ContainersConfig } from './containers-config';
import { clientEnv, requireTool, run, shellQuote, type RunResult } from './process';

/** Where containers/image keeps its blob-info cache when running as root; skopeo has no flag to move it. */
const SYSTEM_BLOB_INFO_CACHE = '/var/lib/containers/cache';

export interface CopyOptions {
  /** Copy every image of an index (skopeo copy --all). */
  all?: boolean;
  /** Fail rather than change any digest (skopeo copy --preserve-digests). */
  preserveDigests?: boolean;
  /**
   * Verify the registry's TLS certificate (against the system's CAs and, when given, the
   * CA certificates in `certDir`) instead of speaking plain HTTP without verification.
   */
  tls?: { certDir?: string };
}

/**
 * Drives skopeo against a plain-HTTP registry. Each invocation runs in a private mount
 * namespace with this driver's own directory bound over the system blob-info cache: the
 * cache remembers where blobs were seen and turns uploads into cross-repository mount
 * attempts, so a shared cache would make one run depend on the runs before it.
 */
export class Skopeo {
  private constructor(private readonly dir: string, private readonly config: ContainersConfig) {}

  static async create(dir: string): Promise<Skopeo> {
    requireTool('skopeo', 'skopeo');
    requireTool('unshare', 'util-linux');
    await mkdir(join(dir, 'blob-info-cache'), { recursive: true });
    await mkdir(SYSTEM_BLOB_INFO_CACHE, { recursive: true });
    return new Skopeo(dir, await writeContainersConfig(join(dir, 'config')));
  }

  /** Copies an image; resolves with the digest of the manifest written to `destination`. */
  async copy(source: string, destination: string, options: CopyOptions = {}): Promise<string> {
    const digestFile = join(this.dir, `digest-${randomUUID()}`);
    await this.skopeo([
      'copy', ...copyTls(options.tls), '--digestfile', digestFile,
      ...(options.all ? ['--all'] : []),
      ...(options.preserveDigests ? ['--preserve-digests'] : []),
      source, destination,
    ], 300_000);
    return (await readFile(digestFile, 'utf8')).trim();
  }

  /** skopeo inspect: the image's Digest, Layers, Architecture, ... */
  async inspect(reference: string): Promise<{ Digest: string; Layers: string[]; Architecture: string; Os: string } & Record<string, unknown>> {
    return JSON.parse((await this.skopeo(['inspect', ...tls(reference), reference])).stdout);
  }

  /** skopeo inspect --raw: the manifest bytes exactly as served. */
  async inspectRaw(reference: string): Promise<string> {
    return (await this.skopeo(['inspect', '--raw', ...tls(reference), reference])).stdout;
  }

  async listTags(repository: string): Promise<string[]> {
    return (JSON.parse((await this.skopeo(['list-tags', ...tls(repository), repository])).stdout) as { Tags: string[] }).Tags;
  }

  async delete(reference: string): Promise<void> {
    await this.skopeo(['delete', ...tls(reference), reference]);
  }

  /** skopeo login, password on stdin; the credentials land in this driver's auth file. */
  async login(host: string, credentials: { username: string; password: string }): Promise<void> {
    await this.skopeo(['login', '--tls-verify=false', '--username', credentials.username, '--password-stdin', host], 60_000, credentials.password);
  }

  private skopeo(args: string[], timeoutMs = 120_000, input?: string): Promise<RunResult> {
    const command = ['skopeo', '--policy', this.config.policyPath, '--tmpdir', this.dir, ...args];
    // $0 is the cache directory, "$@" the skopeo command line.
    const script = `mount --bind "$0" ${SYSTEM_BLOB_INFO_CACHE} && exec "$@"`;
    return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, join(this.dir, 'blob-info-cache'), ...command], {
      env: clientEnv(this.config.env),
      timeoutMs,
      ...(input === undefined ? {} : { input }),
      label: `${shellQuote(command)}  (in a mount namespace with a private blob-info cache)`,
    });
  }
}

/** Only docker:// references take --tls-verify. */
function tls(reference: string): string[] {
  return reference.startsWith('docker://') ? ['--tls-verify=false'] : [];
}

function copyTls(tls: CopyOptions['tls']): string[] {
  if (!tls) return ['--src-tls-verify=false', '--dest-tls-verify=false'];
  const certDir = tls.certDir ? ['--src-cert-dir', tls.certDir, '--dest-cert-dir', tls.certDir] : [];
  return ['--src-tls-verify=true', '--dest-tls-verify=true', ...certDir];
}
