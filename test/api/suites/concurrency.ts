import { describe, expect, it } from 'vitest';
import { bodyText, expectError, rand, sha256, uniqueRepo, withQuery } from '../client';
import type { SuiteContext } from '../suite';

/** A body that sends `first`, then waits for `release()` before sending `rest`. */
function gatedBody(first: Uint8Array, rest: Uint8Array) {
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const pulled = new Promise<void>((resolve) => (started = resolve));
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (step === 0) {
        step = 1;
        controller.enqueue(first);
      } else if (step === 1) {
        // Asked for more: the registry is reading the body, so it holds the upload by now.
        // (The first pull proves nothing: streams pull once on their own to fill their queue.)
        step = 2;
        started();
        await gate;
        controller.enqueue(rest);
      } else {
        controller.close();
      }
    },
  });
  return { body, release, pulled };
}

/** A body that dies after `sent` bytes, as when a client or its network drops mid-push. */
function dyingBody(bytes: Uint8Array, sent: number, chunk = 8192) {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= sent) return controller.error(new Error('connection reset by peer'));
      const end = Math.min(at + chunk, sent);
      controller.enqueue(bytes.slice(at, end));
      at = end;
    },
  });
}

/** Races, crashes and resumption: nothing is lost or corrupted, and losers get spec errors. */
export function concurrencyTests(t: SuiteContext): void {
  describe('concurrency and crashes', () => {
    it('rejects a PATCH racing another on the same session with 416, and keeps the winner intact', async () => {
      const repo = uniqueRepo();
      const winner = rand(300_000);
      const location = await t.client.startUpload(repo);
      const gated = gatedBody(winner.subarray(0, 100_000), winner.subarray(100_000));
      const slow = t.client.send('PATCH', location, { body: gated.body });
      await gated.pulled; // the first PATCH holds the session now
      const loser = await t.client.send('PATCH', location, { body: rand(50_000), headers: { 'Content-Range': '0-49999' } });
      await expectError(loser, 416, 'BLOB_UPLOAD_INVALID');
      const loserNoRange = await t.client.send('PATCH', location, { body: rand(10) });
      await expectError(loserNoRange, 416, 'BLOB_UPLOAD_INVALID');
      gated.release();
      const won = await slow;
      expect(won.status, await bodyText(won)).toBe(202);
      expect(won.headers.get('range')).toBe('0-299999');
      const put = await t.client.send('PUT', withQuery(won.headers.get('location')!, { digest: sha256(winner) }));
      expect(put.status, await bodyText(put)).toBe(201);
      const back = new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${sha256(winner)}`)).arrayBuffer());
      expect(sha256(back)).toBe(sha256(winner));
    });

    it('lets exactly one of two simultaneous chunks for the same range land', async () => {
      const repo = uniqueRepo();
      const location = await t.client.startUpload(repo);
      const [a, b] = [rand(200_000), rand(200_000)];
      const responses = await Promise.all([a, b].map((body) => t.client.send('PATCH', location, { body, headers: { 'Content-Range': '0-199999' } })));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses).toEqual([202, 416]);
      const won = responses.find((r) => r.status === 202)!;
      const landed = responses[0] === won ? a : b;
      const put = await t.client.send('PUT', withQuery(won.headers.get('location')!, { digest: sha256(landed) }));
      expect(put.status, await bodyText(put)).toBe(201);
    });

    it('stores the same layer pushed concurrently to two repositories intact in both', async () => {
      const bytes = rand(400_000);
      const repos = [uniqueRepo(), uniqueRepo(), uniqueRepo()];
      const pushed = await Promise.all([...repos, repos[0]!].map((repo) => t.client.pushBlob(repo, bytes)));
      for (const blob of pushed) expect(blob.digest).toBe(sha256(bytes));
      for (const repo of repos) {
        const back = new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${sha256(bytes)}`)).arrayBuffer());
        expect(sha256(back)).toBe(sha256(bytes));
      }
    });

    it('survives a PATCH that dies mid-stream: status reports what landed, and the upload resumes from there', async () => {
      const repo = uniqueRepo();
      const bytes = rand(500_000);
      const location = await t.client.startUpload(repo);
      const died = await t.client.send('PATCH', location, { body: dyingBody(bytes, 350_000) });
      await expectError(died, 400, 'BLOB_UPLOAD_INVALID');
      const status = await t.client.send('GET', location);
      expect(status.status).toBe(204);
      const end = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1]);
      const offset = end === 0 ? 0 : end + 1; // "0-0" is also what an empty upload reports
      expect(offset).toBeLessThanOrEqual(350_000);
      const rest = await t.client.send('PATCH', status.headers.get('location')!, {
        body: bytes.subarray(offset), headers: { 'Content-Range': `${offset}-${bytes.byteLength - 1}` },
      });
      expect(rest.status, await bodyText(rest)).toBe(202);
      const put = await t.client.send('PUT', withQuery(rest.headers.get('location')!, { digest: sha256(bytes) }));
      expect(put.status, await bodyText(put)).toBe(201);
      const back = new Uint8Array(await (await t.client.send('GET', `/v2/${repo}/blobs/${sha256(bytes)}`)).arrayBuffer());
      expect(sha256(back)).toBe(sha256(bytes));
    });
  });
}
