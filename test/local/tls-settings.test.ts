import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode, ROOT, start } from './local-server';
import { serverEntry } from '../support/server-entry';

/** GET over https trusting `ca`: status and headers. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    get(url, { ca, servername: 'localhost' }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    }).on('error', reject);
  });
}

describe('npm start TLS settings', () => {
  let dir: string;
  let tls: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-tls-settings-'));
    tls = join(dir, 'tls');
    const init = spawn(process.execPath, [join(ROOT, 'bin/nimbus.mjs'), 'tls', 'init', '--host', 'localhost', '--ip', '127.0.0.1', '--out', tls], { stdio: 'ignore' });
    expect(await exitCode(init)).toBe(0);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('with TLS on, the login realm and the default public URL use https', async () => {
    const server = await start({
      PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_AUTH: 'on',
      NIMBUS_TLS_CERT: join(tls, 'server.crt'), NIMBUS_TLS_KEY: join(tls, 'server.key'),
    });
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const challenge = await httpsGet(`${server.url}/v2/`, await readFile(join(tls, 'ca.crt')));
      expect(challenge.status).toBe(401);
      expect(challenge.headers['www-authenticate']).toContain(`realm="${server.url}/token"`);
      // --healthcheck (the image's HEALTHCHECK) with the same settings finds the server over https.
      const env = { ...process.env, PORT: new URL(server.url).port, NIMBUS_TLS_CERT: join(tls, 'server.crt'), NIMBUS_TLS_KEY: join(tls, 'server.key') };
      expect(await exitCode(spawn(process.execPath, [...serverEntry(), '--healthcheck'], { cwd: ROOT, env, stdio: 'ignore' }))).toBe(0);
      const plain = { ...process.env, PORT: new URL(server.url).port };
      expect(await exitCode(spawn(process.execPath, [...serverEntry(), '--healthcheck'], { cwd: ROOT, env: plain, stdio: 'ignore' }))).toBe(1);
    } finally {
      server.child.kill('SIGTERM');
      await exitCode(server.child);
    }
  }, 60_000);

  it('refuses to start with half a TLS setting, an unreadable file, or a key that does not match', async () => {
    const base = { PORT: '0', NIMBUS_DATA_DIR: join(dir, 'refused') };
    await expect(start({ ...base, NIMBUS_TLS_CERT: join(tls, 'server.crt') })).rejects.toThrow(/NIMBUS_TLS_CERT and NIMBUS_TLS_KEY go together/);
    await expect(start({ ...base, NIMBUS_TLS_CERT: join(dir, 'missing.crt'), NIMBUS_TLS_KEY: join(tls, 'server.key') }))
      .rejects.toThrow(/NIMBUS_TLS_CERT: cannot read .*missing\.crt: ENOENT/);
    // The CA's certificate with the server's key: a pair that does not match.
    await expect(start({ ...base, NIMBUS_TLS_CERT: join(tls, 'ca.crt'), NIMBUS_TLS_KEY: join(tls, 'server.key') }))
      .rejects.toThrow(/are not a usable certificate and key/);
    await writeFile(join(dir, 'garbage.pem'), 'not pem');
    await expect(start({ ...base, NIMBUS_TLS_CERT: join(dir, 'garbage.pem'), NIMBUS_TLS_KEY: join(tls, 'server.key') }))
      .rejects.toThrow(/are not a usable certificate and key/);
  }, 60_000);

  it('tls init writes the key with mode 0600 and checks its arguments', async () => {
    expect((await stat(join(tls, 'server.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(tls, 'ca-private', 'ca.key'))).mode & 0o777).toBe(0o600);
    const bad = spawn(process.execPath, [join(ROOT, 'bin/nimbus.mjs'), 'tls', 'init', '--host', 'localhost', '--ip', 'not-an-ip', '--out', join(dir, 'bad')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    bad.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exitCode(bad)).toBe(1);
    expect(stderr).toMatch(/--ip must be an IPv4 or IPv6 address/);
  }, 60_000);
});
