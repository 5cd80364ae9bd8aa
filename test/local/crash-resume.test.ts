import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode, start } from './local-server';

const MiB = 1024 * 1024;
/** npm start's part size: the session is checkpointed after each. */
const PART = 64 * MiB;

/** Polls the upload's status (GET on its URL) until its stored Range is `expected`. */
async function untilRange(url: string, expected: string): Promise<void> {
  let last: string | null = null;
  for (let poll = 0; poll < 600; poll++) {
    const status = await fetch(url);
    last = status.headers.get('range');
    if (last === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the upload never reported Range ${expected} (last: ${last})`);
}

/** Sends `bytes` as a chunked PATCH and never finishes it; resolves once `sent` bytes are out. */
function stalledPatch(url: string, bytes: Uint8Array, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PATCH', headers: { 'Transfer-Encoding': 'chunked' } });
    req.on('error', () => undefined); // the server is about to die under it
    req.write(bytes.subarray(0, sent), () => resolve());
  });
}

describe('a server killed in the middle of an upload', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-crash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('restarts with the upload resumable from its last checkpoint, and nothing visible before completion', async () => {
    const env = { PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data') };
    const bytes = new Uint8Array(randomBytes(200 * MiB));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const first = await start(env);
    const post = await fetch(`${first.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location')!;
    await stalledPatch(first.url + location, bytes, 150 * MiB);
    // Two whole parts were sent: the crash comes once the server says it checkpointed both.
    const checkpointed = 2 * PART;
    await untilRange(first.url + location, `0-${checkpointed - 1}`);
    first.child.kill('SIGKILL');
    await exitCode(first.child);

    const second = await start(env);
    try {
      const status = await fetch(second.url + location);
      expect(status.status).toBe(204);
      // The restarted server knows exactly what was checkpointed before the crash.
      expect(status.headers.get('range')).toBe(`0-${checkpointed - 1}`);
      const offset = checkpointed;
      expect((await fetch(`${second.url}/v2/crash/app/blobs/${digest}`, { method: 'HEAD' })).status).toBe(404);

      const rest = await fetch(second.url + status.headers.get('location')!, {
        method: 'PATCH', body: bytes.subarray(offset), headers: { 'Content-Range': `${offset}-${bytes.byteLength - 1}` },
      });
      expect(rest.status, await rest.clone().text()).toBe(202);
      const put = await fetch(`${second.url}${rest.headers.get('location')!}&digest=${digest}`, { method: 'PUT' });
      expect(put.status, await put.clone().text()).toBe(201);
      const back = new Uint8Array(await (await fetch(`${second.url}/v2/crash/app/blobs/${digest}`)).arrayBuffer());
      expect(createHash('sha256').update(back).digest('hex')).toBe(digest.slice(7));
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
    }
  }, 120_000);
});
