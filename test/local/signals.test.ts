import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggedUrl } from '../../functions/adapters/node/logger';
import { exitCode, ROOT, start } from './local-server';

const MiB = 1024 * 1024;
/** npm start's part size: the session is checkpointed after each. */
const PART = 64 * MiB;
const SIZE = 500 * MiB;
/** The 500 MiB body is one random MiB repeated: cheap to make, and any offset can be sent again. */
const BLOCK = randomBytes(MiB);

function digestOfBody(): string {
  const hash = createHash('sha256');
  for (let i = 0; i < SIZE / MiB; i++) hash.update(BLOCK);
  return `sha256:${hash.digest('hex')}`;
}

/** The body's bytes from `from` up to `to` (exclusive), in pieces of at most a block. */
function* bodyRange(from: number, to: number): Generator<Buffer> {
  for (let offset = from; offset < to;) {
    const within = offset % MiB;
    const end = Math.min(to, offset - within + MiB);
    yield BLOCK.subarray(within, within + end - offset);
    offset = end;
  }
}

/** A chunked PATCH of the whole body that sends `sent` bytes and then waits (a slow client). */
function slowPatch(url: string, sent: number): { closed: Promise<void> } {
  const req = request(url, { method: 'PATCH', headers: { 'Transfer-Encoding': 'chunked' } });
  const closed = new Promise<void>((resolve) => req.on('close', resolve));
  req.on('error', () => undefined); // the server closes it at the end of the drain
  for (const piece of bodyRange(0, sent)) req.write(piece);
  return { closed };
}

async function untilRange(url: string, expected: string): Promise<void> {
  let last: string | null = null;
  for (let poll = 0; poll < 600; poll++) {
    last = (await fetch(url)).headers.get('range');
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the upload never reported Range ${expected} (last: ${last})`);
}

/** A PATCH with Content-Range and Content-Length from `offset` to the end of the body. */
function patchFrom(url: string, offset: number): Promise<{ status: number; location: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'PATCH',
      headers: { 'Content-Range': `${offset}-${SIZE - 1}`, 'Content-Length': String(SIZE - offset), 'Content-Type': 'application/octet-stream' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: String(res.headers.location) }));
    });
    req.on('error', reject);
    const pieces = bodyRange(offset, SIZE);
    const pump = () => {
      for (let next = pieces.next(); !next.done; next = pieces.next()) if (!req.write(next.value)) return void req.once('drain', pump);
      req.end();
    };
    pump();
  });
}

describe('stopping the local server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-signals-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('SIGTERM to `npm start` stops its node process and releases the data dir lock', async () => {
    const data = join(dir, 'npm-start');
    const npm = spawn('npm', ['start'], {
      cwd: ROOT, env: { ...process.env, PORT: '0', NIMBUS_DATA_DIR: data, NIMBUS_FSYNC: 'off' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const found = output.split('\n').map((line) => loggedUrl(line, 'nimbus registry listening')).find(Boolean);
        if (found) resolve(found);
      };
      npm.stdout.on('data', onData);
      npm.stderr.on('data', onData);
      npm.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    const pid = Number((await readFile(`/proc/${npm.pid}/task/${npm.pid}/children`, 'utf8')).trim());
    // The start script builds the bundle, then execs node: npm's child is the server itself, with no shell between.
    expect(await readFile(`/proc/${pid}/cmdline`, 'utf8')).toContain('dist/nimbus-server.mjs');
    expect((await fetch(`${url}/v2/`)).status).toBe(200);

    npm.kill('SIGTERM');
    await exitCode(npm);
    expect(output).toMatch(/"msg":"stopped","signal":"SIGTERM"/);
    await untilGone(pid);
    const again = await start({ PORT: '0', NIMBUS_DATA_DIR: data, NIMBUS_FSYNC: 'off' });
    const signalled = new Promise((resolve) => again.child.once('exit', (code, signal) => resolve({ code, signal })));
    again.child.kill('SIGTERM');
    expect(await signalled, again.output()).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('SIGTERM during a 500 MiB PATCH exits at the end of the drain time, and the upload resumes after a restart', async () => {
    const env = { PORT: '0', NIMBUS_DATA_DIR: join(dir, 'drain'), NIMBUS_FSYNC: 'off', NIMBUS_DRAIN_SECONDS: '2' };
    const digest = digestOfBody();
    const first = await start(env);
    const location = (await fetch(`${first.url}/v2/drain/app/blobs/uploads/`, { method: 'POST' })).headers.get('location')!;
    const patch = slowPatch(first.url + location, 150 * MiB);
    await untilRange(first.url + location, `0-${2 * PART - 1}`);

    first.child.kill('SIGTERM');
    // The PATCH never finishes by itself: only the end of the drain time lets the process exit.
    expect(await exitCode(first.child)).toBe(0);
    await patch.closed;
    expect(first.output()).toMatch(/"msg":"drain time over: closing requests still in flight","requests":1,"drainSeconds":2/);

    const second = await start(env);
    try {
      const status = await fetch(second.url + location);
      expect(status.status).toBe(204);
      const range = /^0-(\d+)$/.exec(status.headers.get('range') ?? '');
      expect(range, `Range ${status.headers.get('range')}`).not.toBeNull();
      const offset = Number(range![1]) + 1;
      expect(offset).toBeGreaterThanOrEqual(2 * PART);
      const rest = await patchFrom(second.url + status.headers.get('location')!, offset);
      expect(rest.status).toBe(202);
      const put = await fetch(`${second.url}${rest.location}&digest=${digest}`, { method: 'PUT' });
      expect(put.status, await put.clone().text()).toBe(201);
      const head = await fetch(`${second.url}/v2/drain/app/blobs/${digest}`, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe(String(SIZE));
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
    }
  }, 180_000);
});

/** Waits until a process that is not our child has exited (its /proc entry is gone). */
async function untilGone(pid: number): Promise<void> {
  for (let poll = 0; poll < 300; poll++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`process ${pid} is still running 30 s after npm start got SIGTERM`);
}
