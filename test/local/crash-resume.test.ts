import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCode, start } from './local-server';

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
    const bytes = new Uint8Array(randomBytes(200 * 1024 * 1024));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const first = await start(env);
    const post = await fetch(`${first.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location')!;
    await stalledPatch(first.url + location, bytes, 150 * 1024 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let the server take in what was sent
    first.child.kill('SIGKILL');
    await exitCode(first.child);

    const second = await start(env);
    try {
      const status = await fetch(second.url + location);
      expect(status.status).toBe(204);
      const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')![1]);
      const offset = end === 0 ? 0 : end + 1;
      expect(offset % (64 * 1024 * 1024)).toBe(0); // checkpoints land on part boundaries
      expect(offset).toBeGreaterThan(0);
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
