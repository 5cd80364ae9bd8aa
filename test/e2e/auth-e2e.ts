import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { DockerDaemon } from '../../harness/clients/docker';
import { Podman } from '../support/clients/podman';
import { clientEnv, CommandFailedError, run } from '../../harness/clients/process';
import { Skopeo } from '../../harness/clients/skopeo';
import { buildOciImage, KiB, writeDockerArchive, type BuiltImage } from '../../harness/oci-image';
import { runNimbus as runCli } from '../support/nimbus-cli';

/** A registry with auth on, and the `nimbus` CLI that manages its users and grants. */
export interface AuthE2ETarget {
  readonly name: string;
  start(): Promise<RunningAuthTarget>;
}

export interface RunningAuthTarget {
  /** 127.0.0.1:PORT, as used in image references and logins. */
  readonly host: string;
  /** `npx nimbus ARGS` against this registry's users and grants; resolves with what it printed. */
  nimbus(args: string[], input?: string): Promise<string>;
  /** What the registry printed recently, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}


/** Runs bin/nimbus.mjs (what `npx nimbus` runs in a checkout) with exactly `env`. */
export async function runNimbus(args: string[], env: Record<string, string>, input = ''): Promise<string> {
  const run = await runCli(args, { env, input });
  const output = run.stdout + run.stderr;
  if (run.code !== 0) throw new Error(`nimbus ${args.join(' ')} failed:\n${output}`);
  return output;
}

const PASSWORD = { alice: 'alice-e2e-password', admin: 'admin-e2e-password' };

/**
 * Auth driven by real clients: docker (through a private dockerd), skopeo and podman log
 * in, push and pull; wrong passwords, missing grants and removed users are refused the
 * way each client reports them. Images are small (one request per layer fits any target).
 */
export function defineAuthE2E(target: AuthE2ETarget): void {
  describe(`${target.name}: logins with real clients`, () => {
    let work: string;
    let registry: RunningAuthTarget;
    let host: string;
    let image: BuiltImage;
    let archive: string;
    let dockerd: DockerDaemon;
    let dockerConfig: string;

    const nimbus = (args: string[], input?: string) => registry.nimbus(args, input);

    /** Runs a client with the password on stdin (never on the command line). */
    const withPasswordOnStdin = (password: string, command: string[], env: Record<string, string>) =>
      run(command[0]!, command.slice(1), { env: clientEnv(env), input: password, label: `${command.join(' ')} (password on stdin)` });

    const dockerCli = (args: string[]) => run('docker', ['-H', `unix://${dockerd.socket}`, ...args], {
      env: clientEnv({ DOCKER_CONFIG: dockerConfig, HOME: work }), timeoutMs: 300_000,
    });
    const dockerLogin = (user: string, password: string) => withPasswordOnStdin(password, [
      'docker', '-H', `unix://${dockerd.socket}`, 'login', '--username', user, '--password-stdin', host,
    ], { DOCKER_CONFIG: dockerConfig, HOME: work });

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'nimbus-auth-e2e-'));
      registry = await target.start();
      host = registry.host;
      await nimbus(['user', 'add', 'alice', '--password-stdin'], PASSWORD.alice);
      await nimbus(['user', 'add', 'admin', '--password-stdin'], PASSWORD.admin);
      await nimbus(['grant', 'alice', 'alice/**', 'pull,push']);
      await nimbus(['grant', 'admin', '**', 'pull,push,delete']);
      await nimbus(['grant', 'anonymous', 'public/*', 'pull']);

      image = await buildOciImage(join(work, 'layout'), { seed: 'auth-e2e', layerSizes: [4 * KiB, 64 * KiB] }, 'v1');
      archive = join(work, 'image.tar');
      await writeDockerArchive(image, archive, ['auth-e2e/app:v1']);
      dockerd = await DockerDaemon.start();
      dockerConfig = join(work, 'docker-config');
      await mkdir(dockerConfig, { recursive: true });
    }, 240_000);

    // A failing client says little: show what the registry logged (one JSON line per request).
    beforeEach(() => onTestFailed(() => {
      console.error(`--- registry log (last 60 lines) ---\n${registry?.logs().split('\n').slice(-60).join('\n')}`
        + `\n--- dockerd log (last 20 lines) ---\n${dockerd?.logs().split('\n').slice(-20).join('\n')}`);
    }));

    afterAll(async () => {
      await dockerd?.stop();
      await registry?.stop();
      await rm(work, { recursive: true, force: true });
    }, 120_000);

    /** The failure message of a client command that must fail. */
    async function failure(promise: Promise<unknown>): Promise<string> {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      expect(error, 'the command should have failed').toBeInstanceOf(CommandFailedError);
      const failed = error as CommandFailedError;
      return `${failed.stdout}\n${failed.stderr}`;
    }

    describe('docker through a private dockerd', () => {
      it('refuses a wrong password, then logs in, pushes and pulls where granted', async () => {
        expect(await failure(dockerLogin('alice', 'wrong-password'))).toMatch(/unauthorized|incorrect username or password/i);
        await dockerLogin('alice', PASSWORD.alice);
        const stored = JSON.parse(await readFile(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string; auth?: string }> };
        // docker keeps the refresh token, not the password.
        expect(stored.auths[host]?.identitytoken).toBeTruthy();

        await dockerCli(['load', '--input', archive]);
        await dockerCli(['tag', 'auth-e2e/app:v1', `${host}/alice/app:v1`]);
        await dockerCli(['push', `${host}/alice/app:v1`]);
        await dockerCli(['rmi', '--force', `${host}/alice/app:v1`]);
        await dockerCli(['pull', `${host}/alice/app:v1`]);
        expect((await dockerCli(['image', 'inspect', '--format', '{{.Id}}', `${host}/alice/app:v1`])).stdout.trim()).toBe(image.config.digest);
      });

      it('gets DENIED pushing to a repository without a grant', async () => {
        await dockerCli(['tag', 'auth-e2e/app:v1', `${host}/bob/app:v1`]);
        expect(await failure(dockerCli(['push', `${host}/bob/app:v1`]))).toMatch(/denied/i);
      });

      it('pulls anonymously only where configured', async () => {
        await dockerLogin('admin', PASSWORD.admin);
        await dockerCli(['tag', 'auth-e2e/app:v1', `${host}/public/app:v1`]);
        await dockerCli(['tag', 'auth-e2e/app:v1', `${host}/private/app:v1`]);
        await dockerCli(['push', `${host}/public/app:v1`]);
        await dockerCli(['push', `${host}/private/app:v1`]);
        await dockerCli(['logout', host]);
        await dockerCli(['rmi', '--force', `${host}/public/app:v1`, `${host}/private/app:v1`]);
        await dockerCli(['pull', `${host}/public/app:v1`]);
        expect(await failure(dockerCli(['pull', `${host}/private/app:v1`]))).toMatch(/unauthorized|authentication required|denied/i);
      });

      it('stops refreshing a stored login after `nimbus user remove`', async () => {
        await nimbus(['user', 'add', 'carol', '--password-stdin'], 'carol-e2e-password');
        await nimbus(['grant', 'carol', 'alice/**', 'pull']);
        await dockerLogin('carol', 'carol-e2e-password');
        await dockerCli(['pull', `${host}/alice/app:v1`]);
        await nimbus(['user', 'remove', 'carol']);
        await dockerCli(['rmi', '--force', `${host}/alice/app:v1`]);
        expect(await failure(dockerCli(['pull', `${host}/alice/app:v1`]))).toMatch(/unauthorized|log in again|revoked/i);
        await dockerCli(['logout', host]);
      });
    });

    describe('containers/image clients', () => {
      it('skopeo login: wrong password refused; copies where granted, DENIED elsewhere', async () => {
        const dir = join(work, 'skopeo');
        const skopeo = await Skopeo.create(dir);
        const authfile = join(dir, 'config', 'auth.json'); // the REGISTRY_AUTH_FILE the driver points skopeo at
        const login = (password: string) => withPasswordOnStdin(password, [
          'skopeo', 'login', '--tls-verify=false', '--authfile', authfile, '--username', 'alice', '--password-stdin', host,
        ], { HOME: dir });
        expect(await failure(login('wrong-password'))).toMatch(/unauthorized|invalid username\/password|incorrect/i);
        await login(PASSWORD.alice);
        const digest = await skopeo.copy(`oci:${image.layoutDir}:v1`, `docker://${host}/alice/skopeo:v1`);
        expect(digest).toBe(image.manifest.digest);
        expect((await skopeo.inspect(`docker://${host}/alice/skopeo:v1`)).Digest).toBe(digest);
        // skopeo first HEADs the blobs, and a HEAD answer has no body to say DENIED in: 403 it is.
        expect(await failure(skopeo.copy(`oci:${image.layoutDir}:v1`, `docker://${host}/bob/skopeo:v1`))).toMatch(/denied|403 \(Forbidden\)/i);
      });

      it('podman login: wrong password refused; pushes and pulls where granted', async () => {
        const dir = join(work, 'podman');
        const podman = await Podman.create(dir);
        const login = (password: string) => withPasswordOnStdin(password, [
          'podman', '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs',
          '--events-backend', 'file', '--cgroup-manager', 'cgroupfs',
          'login', '--tls-verify=false', '--authfile', join(dir, 'config', 'auth.json'), '--username', 'alice', '--password-stdin', host,
        ], { HOME: join(dir, 'config', 'home'), XDG_RUNTIME_DIR: join(dir, 'config', 'xdg-runtime') });
        expect(await failure(login('wrong-password'))).toMatch(/unauthorized|invalid username\/password|incorrect/i);
        await login(PASSWORD.alice);
        const id = await podman.pull(`${host}/alice/app:v1`);
        expect(id).toBeTruthy();
        await podman.tag(`${host}/alice/app:v1`, `${host}/alice/podman:v1`);
        expect(await podman.push(`${host}/alice/podman:v1`)).toMatch(/^sha256:/);
      });
    });
  });
}
