import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../functions/local/settings';
import { exitCode, ROOT, start } from './local-server';
import { serverEntry } from '../support/server-entry';

describe('npm start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-start-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists every setting in --help', async () => {
    const child = spawn(process.execPath, [...serverEntry(), '--help'], { cwd: ROOT });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    expect(await exitCode(child)).toBe(0);
    for (const [name] of SETTINGS) expect(text).toContain(name);
  });

  it('documents every setting in the README', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    for (const [name, fallback] of SETTINGS) expect(readme, name).toMatch(new RegExp(`\\| \`${name}\` \\| ${fallback.startsWith('(') ? '' : `\`${fallback.replace(/[./]/g, '\\$&')}\``}`));
  });

  it('honours HOST, PORT and NIMBUS_DATA_DIR, logs each request, keeps data across restarts, and stops on SIGTERM', async () => {
    const data = join(dir, 'data');
    const first = await start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: data, NIMBUS_FSYNC: 'off' });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const version = await fetch(`${first.url}/v2/`);
    expect(version.status).toBe(200);
    const bytes = new TextEncoder().encode('persist me');
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;
    const put = await fetch(`${first.url}/v2/keep/me/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes });
    expect(put.status).toBe(201);
    await stat(join(data, 'blobs'));

    first.child.kill('SIGTERM');
    expect(await exitCode(first.child)).toBe(0);
    const lines = first.output().split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ method: 'GET', path: '/v2/', status: 200 });
    expect(lines[1]).toMatchObject({ method: 'POST', status: 201, bytesIn: bytes.byteLength });
    for (const line of lines) expect(typeof line.ms).toBe('number');

    const second = await start({ PORT: '0', NIMBUS_DATA_DIR: data });
    try {
      const back = await fetch(`${second.url}/v2/keep/me/blobs/${digest}`);
      expect(await back.text()).toBe('persist me');
      expect(await (await fetch(`${second.url}/v2/_catalog`)).json()).toEqual({ repositories: ['keep/me'] });
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
    }
  });

  it('hands memory back once after start-up, and again once requests have been followed by a quiet period', async () => {
    const server = await start({ PORT: '0', NIMBUS_DATA_DIR: join(dir, 'idle'), NIMBUS_LOG_LEVEL: 'debug', NIMBUS_IDLE_RELEASE: '1' });
    const releases = () => server.output().split('\n').filter((line) => line.includes('"msg":"released idle memory"'));
    try {
      await expect.poll(() => releases().length, { timeout: 10_000 }).toBe(1);
      // A blob pushed and pulled: the next quiet second releases again.
      const bytes = new Uint8Array(4 << 20).fill(7);
      const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;
      expect((await fetch(`${server.url}/v2/idle/me/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes })).status).toBe(201);
      expect((await (await fetch(`${server.url}/v2/idle/me/blobs/${digest}`)).arrayBuffer()).byteLength).toBe(bytes.byteLength);
      await expect.poll(() => releases().length, { timeout: 10_000 }).toBe(2);
      const record = JSON.parse(releases()[1]!) as { ms: number; rssMiB: number[] };
      expect(record.rssMiB).toHaveLength(2);
      expect(record.ms).toBeGreaterThanOrEqual(0);
    } finally {
      server.child.kill('SIGTERM');
      await exitCode(server.child);
    }
  });

  it('refuses a second server on the same data dir, and bad settings, with actionable messages', async () => {
    const data = join(dir, 'shared');
    const first = await start({ PORT: '0', NIMBUS_DATA_DIR: data });
    try {
      await expect(start({ PORT: '0', NIMBUS_DATA_DIR: data })).rejects.toThrow(/in use by another Nimbus server/);
    } finally {
      first.child.kill('SIGTERM');
      await exitCode(first.child);
    }
    await expect(start({ PORT: 'abc', NIMBUS_DATA_DIR: data })).rejects.toThrow(/PORT must be an integer/);
  });
});
