import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDaemon, type Docker } from '../../harness/clients/docker';
import { Skopeo } from '../../harness/clients/skopeo';
import { buildOciImage, KiB, writeDockerArchive, type BuiltImage } from '../../harness/oci-image';
import { exitCode, ROOT, start, type Started } from '../local/local-server';

/**
 * npm start with NIMBUS_TLS_CERT/KEY from `npx nimbus tls init`: real docker and skopeo push
 * and pull over HTTPS, trusting the private CA the way the printed steps say (docker's
 * certs.d, skopeo's --cert-dir), with no insecure-registries setting; without the CA they
 * are refused. docker treats loopback registries as insecure (it skips verification there),
 * so docker talks to the machine's own non-loopback address, where it verifies.
 */
describe('npm start with TLS', () => {
  let dir: string;
  let tlsDir: string;
  let clientCa: string;
  let address: string;
  let server: Started;
  let port: string;
  let image: BuiltImage & { archive: string };
  let dockerd: DockerDaemon;
  let docker: Docker;
  let skopeo: Skopeo;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-tls-'));
    tlsDir = join(dir, 'tls');
    address = nonLoopbackAddress();
    await nimbusCli(['tls', 'init', '--host', 'localhost', '--ip', '127.0.0.1', '--ip', address, '--out', tlsDir]);
    // A directory with the CA alone, as the printed steps say --cert-dir needs.
    clientCa = join(dir, 'client-ca');
    await mkdir(clientCa);
    await copyFile(join(tlsDir, 'ca.crt'), join(clientCa, 'ca.crt'));
    [server, image, dockerd, skopeo] = await Promise.all([
      start({
        HOST: '0.0.0.0', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_FSYNC: 'off',
        NIMBUS_TLS_CERT: join(tlsDir, 'server.crt'), NIMBUS_TLS_KEY: join(tlsDir, 'server.key'),
      }),
      buildOciImage(join(dir, 'layout'), { seed: 'tls', layerSizes: [64 * KiB] }, 'v1').then(async (built) => {
        const archive = join(dir, 'image.tar');
        await writeDockerArchive(built, archive, ['tls/app:v1']);
        return { ...built, archive };
      }),
      DockerDaemon.start({ privateCertsDir: true }),
      Skopeo.create(join(dir, 'skopeo')),
    ]);
    port = new URL(server.url).port;
    docker = await dockerd.client();
  });

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await Promise.all([server && exitCode(server.child), dockerd?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves https only, TLS 1.2 or newer, with the certificate tls init made', async () => {
    expect(server.url).toMatch(/^https:/);
    const peer = await peerCertificate({ ca: await readFile(join(tlsDir, 'ca.crt')) });
    expect(peer.subjectAltName).toContain('DNS:localhost');
    expect(peer.subjectAltName).toContain(`IP Address:${address}`);
    await expect(peerCertificate({ ca: await readFile(join(tlsDir, 'ca.crt')), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
    // A client without the CA is refused.
    await expect(fetch(`https://localhost:${port}/v2/`)).rejects.toThrow();
    const plain = await fetch(`http://localhost:${port}/v2/`).then((r) => r.status, (error: unknown) => String(error));
    expect(plain).not.toBe(200);
  }, 120_000);

  it('docker with the CA in certs.d pushes and pulls; without it docker is refused', async () => {
    const hostPort = `${address}:${port}`;
    const name = `${hostPort}/tls/app:v1`;
    await docker.load(image.archive);
    await docker.tag('tls/app:v1', name);

    await expect(docker.push(name)).rejects.toThrow(/x509|certificate/i);
    await dockerd.trust(hostPort, join(tlsDir, 'ca.crt'));
    const digest = await docker.push(name);
    expect(digest).toMatch(/^sha256:/);
    await docker.removeImages(name, 'tls/app:v1');
    await docker.pull(name);
    expect((await docker.inspectImage(name)).RepoDigests).toContain(`${hostPort}/tls/app@${digest}`);
  }, 120_000);

  it('skopeo with --cert-dir copies in and out over https; without the CA it is refused', async () => {
    const repository = `docker://localhost:${port}/tls/skopeo`;
    await expect(skopeo.copy(`oci:${image.layoutDir}:v1`, `${repository}:v1`, { tls: {} })).rejects.toThrow(/x509|certificate/i);
    const pushed = await skopeo.copy(`oci:${image.layoutDir}:v1`, `${repository}:v1`, { preserveDigests: true, tls: { certDir: clientCa } });
    expect(pushed).toBe(image.manifest.digest);
    const pulled = await skopeo.copy(`${repository}:v1`, `oci:${join(dir, 'pulled')}:v1`, { preserveDigests: true, tls: { certDir: clientCa } });
    expect(pulled).toBe(image.manifest.digest);
  }, 120_000);

  it('on SIGHUP serves a new certificate, and keeps the old one when the new files are unusable', async () => {
    const ca = await readFile(join(tlsDir, 'ca.crt'));
    const before = await peerCertificate({ ca });
    // A second init in the same directory reuses the CA and issues a new server certificate.
    await nimbusCli(['tls', 'init', '--host', 'localhost', '--ip', '127.0.0.1', '--ip', address, '--ip', '::1', '--out', tlsDir]);
    expect(await readFile(join(tlsDir, 'ca.crt'))).toEqual(ca);
    const reloaded = nextLine(server, /tls certificate reloaded/);
    server.child.kill('SIGHUP');
    await reloaded;
    const after = await peerCertificate({ ca });
    expect(after.serialNumber).not.toBe(before.serialNumber);
    expect(after.subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');

    await writeFile(join(tlsDir, 'server.crt'), 'not a certificate');
    const failed = nextLine(server, /tls reload failed/);
    server.child.kill('SIGHUP');
    expect(await failed).toMatch(/previous certificate/);
    expect((await peerCertificate({ ca })).serialNumber).toBe(after.serialNumber);
    expect(server.child.exitCode).toBeNull();
  }, 120_000);

  function peerCertificate(options: { ca: Buffer; minVersion?: 'TLSv1'; maxVersion?: 'TLSv1.1' }): Promise<X509Certificate> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), servername: 'localhost', ...options }, () => {
        const certificate = socket.getPeerX509Certificate();
        socket.end();
        if (certificate) resolve(certificate);
        else reject(new Error('no peer certificate'));
      });
      socket.on('error', reject);
    });
  }
});

function nonLoopbackAddress(): string {
  const found = Object.values(networkInterfaces()).flat().find((entry) => entry && entry.family === 'IPv4' && !entry.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 address (docker skips TLS verification for loopback registries)');
  return found.address;
}

/** Resolves with the next line the server prints that matches (registered before the signal is sent). */
function nextLine(server: Started, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const line = chunk.toString().split('\n').find((l) => pattern.test(l));
      if (!line) return;
      server.child.stdout?.off('data', onData);
      server.child.stderr?.off('data', onData);
      resolve(line);
    };
    server.child.stdout?.on('data', onData);
    server.child.stderr?.on('data', onData);
  });
}

async function nimbusCli(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/nimbus.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await exitCode(child);
  if (code !== 0) throw new Error(`nimbus ${args.join(' ')} exited with ${code}:\n${output}`);
  return output;
}
