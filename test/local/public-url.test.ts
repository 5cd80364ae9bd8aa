import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originOf, parsePublicUrl } from '../../functions/adapters/node/public-url';
import { readSettings } from '../../functions/local/settings';
import { challengeWithHost } from '../support/forged-host';
import { exitCode, start } from './local-server';

describe('the public URL of npm start', () => {
  it('takes NIMBUS_PUBLIC_URL as an origin, and refuses anything else with the variable\'s name', () => {
    expect(parsePublicUrl(undefined)).toEqual({ url: undefined });
    expect(parsePublicUrl('https://registry.example.com/')).toEqual({ url: 'https://registry.example.com' });
    expect(parsePublicUrl('HTTP://Registry.Example.com:8080')).toEqual({ url: 'http://registry.example.com:8080' });
    for (const bad of ['registry.example.com', 'ftp://x', 'https://x/registry', 'https://x?a=b', 'https://u:p@x', 'https://x#frag']) {
      expect(() => readSettings({ NIMBUS_PUBLIC_URL: bad }), bad).toThrow(/NIMBUS_PUBLIC_URL must be/);
    }
  });

  it('refuses auth on a wildcard HOST without a public URL, saying what to set', () => {
    for (const host of ['0.0.0.0', '::', '[::]']) {
      expect(() => readSettings({ NIMBUS_AUTH: 'on', HOST: host })).toThrow(/set NIMBUS_PUBLIC_URL to the URL clients use/);
      expect(readSettings({ NIMBUS_AUTH: 'on', HOST: host, NIMBUS_PUBLIC_URL: 'https://r.example' }).publicUrl).toBe('https://r.example');
      // Without auth no absolute URL is built: nothing to configure.
      expect(readSettings({ HOST: host }).publicUrl).toBeUndefined();
    }
  });

  it('derives http://HOST:PORT from a concrete HOST', () => {
    expect(originOf('127.0.0.1', 5000)).toBe('http://127.0.0.1:5000');
    expect(originOf('::1', 5000)).toBe('http://[::1]:5000');
    expect(originOf('[::1]', '5001')).toBe('http://[::1]:5001');
    expect(originOf('registry.lan', 80)).toBe('http://registry.lan:80');
  });
});

describe('npm start with auth on', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-realm-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    [{}, (url: string) => `${url}/token`],
    [{ NIMBUS_PUBLIC_URL: 'https://registry.example.com/' }, () => 'https://registry.example.com/token'],
  ])('names the configured realm (%j), whatever Host the client sends', async (env, realm) => {
    const server = await start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_AUTH: 'on', NIMBUS_FSYNC: 'off', ...env });
    try {
      for (const host of ['attacker.example', 'attacker.example:1234', new URL(server.url).host]) {
        expect(await challengeWithHost(server.url, '/v2/', host)).toBe(`Bearer realm="${realm(server.url)}",service="nimbus"`);
      }
    } finally {
      server.child.kill('SIGTERM');
      await exitCode(server.child);
    }
  });

  it('refuses to start on HOST=0.0.0.0 without NIMBUS_PUBLIC_URL', async () => {
    await expect(start({ HOST: '0.0.0.0', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'wild'), NIMBUS_AUTH: 'on' })).rejects.toThrow(/NIMBUS_PUBLIC_URL/);
  });
});
