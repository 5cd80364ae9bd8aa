/**
 * The garbage collection contract (functions/core/gc/ports.ts) every GcStore passes, run
 * through the core's collector (runGc) and the Distribution API of a registry built on the
 * fixture's stores.
 *
 * A store's test calls describeGcContract(name, factory). The factory returns, for one test:
 *  - gc, metadata, blobs: the stores, sharing one empty registry (no other writer);
 *  - clock: the time everything reads (the registry, the stores' touch and review times);
 *    tests move it with advance(ms) and never wait for real time;
 *  - blobLocks: what the registry must hold around upload completion, if the store needs it;
 *  - bytesExist(digest): whether the blob's bytes are still in storage (a file, an object);
 *  - cleanup().
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobLocks, GcReport, GcStore } from '../../functions/core/gc/ports';
import { runGc } from '../../functions/core/gc/runner';
import { createRegistry, type BlobStore, type MetadataStore, type Registry } from '../../functions/core/index';
import { GcTestClient, OCI_INDEX, sha256, testBlob, testImage, type TestBlob, type TestImage } from '../support/gc-images';

export interface ControllableClock {
  now(): number;
  advance(ms: number): void;
}

export interface GcFixture {
  gc: GcStore;
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: ControllableClock;
  blobLocks?: BlobLocks;
  bytesExist(digest: string): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** A clock that moves only when told to, starting now. */
export function manualClock(start = Date.now()): ControllableClock {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

const HOUR = 3_600_000;

/**
 * Starts `action` after about `ms` milliseconds: jitter, so that across the rounds of a race
 * test either side gets ahead (the outcome is checked whichever it is; nothing waits on it).
 */
async function later<T>(ms: number, action: () => Promise<T>): Promise<T> {
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return action();
}

export function describeGcContract(name: string, factory: () => Promise<GcFixture>): void {
  describe(`GcStore contract: ${name}`, () => {
    let fx: GcFixture;
    let registry: Registry;
    let client: GcTestClient;
    const gc = (options: { minAgeMs?: number; dryRun?: boolean; full?: boolean } = {}): Promise<GcReport> =>
      runGc({ gc: fx.gc, metadata: fx.metadata, clock: fx.clock }, { minAgeMs: HOUR, ...options });
    const deletedDigests = (report: GcReport) => report.deleted.map((blob) => blob.digest).sort();
    const repo = () => `gc-${randomBytes(4).toString('hex')}/app`;

    beforeEach(async () => {
      fx = await factory();
      registry = createRegistry({
        blobs: fx.blobs, metadata: fx.metadata, clock: fx.clock, gc: fx.gc,
        ...(fx.blobLocks ? { blobLocks: fx.blobLocks } : {}),
        config: { uploadSecret: new Uint8Array(randomBytes(32)), blobRedirectSeconds: 0 },
      });
      client = new GcTestClient((request) => registry.fetch(request));
    });
    afterEach(() => fx.cleanup());

    /** Kept: linked, recorded, with its bytes, and GET answers them. */
    async function expectServed(repository: string, blob: TestBlob): Promise<void> {
      expect(await fx.bytesExist(blob.digest), `bytes of ${blob.digest}`).toBe(true);
      const bytes = await client.getBlob(repository, blob.digest);
      expect(typeof bytes === 'number' ? bytes : Buffer.compare(bytes, blob.bytes)).toBe(0);
    }

    async function expectCollected(repository: string, blob: TestBlob): Promise<void> {
      expect(await fx.metadata.getBlob(blob.digest)).toBeUndefined();
      expect(await fx.metadata.isBlobLinked(repository, blob.digest)).toBe(false);
      expect(await fx.bytesExist(blob.digest)).toBe(false);
    }

    it('collects an unreferenced blob only once the safety window has passed', async () => {
      const repository = repo();
      const blob = testBlob();
      expect(await client.uploadBlob(repository, blob)).toBe(201);
      fx.clock.advance(HOUR - 1000);
      const early = await gc();
      expect(early.blobsDeleted).toBe(0);
      await expectServed(repository, blob);
      fx.clock.advance(2000);
      const late = await gc();
      expect(deletedDigests(late)).toEqual([blob.digest]);
      expect(late.bytesFreed).toBe(blob.bytes.byteLength);
      await expectCollected(repository, blob);
      // Settled: the next pass has nothing to review.
      expect((await gc()).reviewed).toBe(0);
    });

    it('keeps blobs a manifest references, and frees them once it is deleted and the window passed', async () => {
      const repository = repo();
      const image = testImage(repository, 'v1', [testBlob(), testBlob(), testBlob()]);
      expect(await client.pushImage(image)).toBe(true);
      fx.clock.advance(2 * HOUR);
      expect((await gc({ full: true })).blobsDeleted).toBe(0);
      expect(await client.pullDifference(image)).toBeUndefined();
      expect(await client.deleteManifest(repository, image.digest)).toBe(202);
      fx.clock.advance(HOUR / 2);
      expect((await gc()).blobsDeleted).toBe(0);
      fx.clock.advance(HOUR);
      expect(deletedDigests(await gc())).toEqual(image.blobs.map((b) => b.digest).sort());
      for (const blob of image.blobs) await expectCollected(repository, blob);
    });

    it('keeps the blobs of index children while the index lives, and after it (untagged manifests stay)', async () => {
      const repository = repo();
      const children = [0, 1].map((i) => testImage(repository, `child-${i}`, [testBlob(), testBlob()]));
      for (const child of children) expect(await client.pushImage(child)).toBe(true);
      const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.digest, size: c.manifest.length })) });
      const put = await client.send('PUT', `/v2/${repository}/manifests/multi`, { body: index, headers: { 'content-type': OCI_INDEX } });
      expect(put.status).toBe(201);
      // The index holds its children: deleting one is refused, so its blobs stay referenced.
      expect(await client.deleteManifest(repository, children[0]!.digest)).toBe(405);
      fx.clock.advance(2 * HOUR);
      expect((await gc({ full: true })).blobsDeleted).toBe(0);
      expect(await client.deleteManifest(repository, sha256(index))).toBe(202);
      fx.clock.advance(2 * HOUR);
      expect((await gc({ full: true })).blobsDeleted).toBe(0);
      for (const child of children) for (const blob of child.blobs) await expectServed(repository, blob);
    });

    it('deletes referrers after their subject (once the window passed), then their blobs', async () => {
      const repository = repo();
      const subject = testImage(repository, 'v1', [testBlob()]);
      expect(await client.pushImage(subject)).toBe(true);
      const signature = testImage(repository, 'sig', [testBlob(), testBlob()], { digest: subject.digest, size: subject.manifest.length });
      expect(await client.pushImage(signature)).toBe(true);
      fx.clock.advance(2 * HOUR);
      expect((await gc()).referrersDeleted).toBe(0);
      expect(await client.deleteManifest(repository, subject.digest)).toBe(202);
      fx.clock.advance(HOUR / 2);
      expect((await gc()).referrersDeleted).toBe(0);
      expect(await fx.metadata.getManifest(repository, signature.digest)).toBeDefined();
      fx.clock.advance(HOUR);
      const pass = await gc();
      expect(pass.referrersDeleted).toBe(1);
      expect(deletedDigests(pass)).toEqual(subject.blobs.map((b) => b.digest));
      expect(await fx.metadata.getManifest(repository, signature.digest)).toBeUndefined();
      fx.clock.advance(2 * HOUR);
      expect(deletedDigests(await gc())).toEqual(signature.blobs.map((b) => b.digest).sort());
    });

    it('collects a blob unlinked by DELETE /v2/<name>/blobs/<digest> after the window; one a manifest uses is refused', async () => {
      const repository = repo();
      const loose = testBlob();
      const image = testImage(repository, 'v1', [testBlob()]);
      expect(await client.pushImage(image)).toBe(true);
      expect(await client.uploadBlob(repository, loose)).toBe(201);
      fx.clock.advance(HOUR / 2);
      expect((await client.send('DELETE', `/v2/${repository}/blobs/${image.blobs[0]!.digest}`)).status).toBe(405);
      expect((await client.send('DELETE', `/v2/${repository}/blobs/${loose.digest}`)).status).toBe(202);
      // Unlinked half an hour after it was pushed: the window counts from the unlink.
      fx.clock.advance(HOUR * 0.75);
      expect((await gc()).blobsDeleted).toBe(0);
      expect(await fx.bytesExist(loose.digest)).toBe(true);
      fx.clock.advance(HOUR / 2);
      expect(deletedDigests(await gc())).toEqual([loose.digest]);
      await expectCollected(repository, loose);
      await expectServed(repository, image.blobs[0]!);
    });

    it('takes a blob pushed again after it was collected', async () => {
      const repository = repo();
      const blob = testBlob();
      expect(await client.uploadBlob(repository, blob)).toBe(201);
      fx.clock.advance(2 * HOUR);
      expect((await gc()).blobsDeleted).toBe(1);
      const image = testImage(repository, 'again', [blob]);
      expect(await client.pushImage(image)).toBe(true);
      expect(await client.pullDifference(image)).toBeUndefined();
      fx.clock.advance(2 * HOUR);
      expect((await gc({ full: true })).blobsDeleted).toBe(0);
      expect(await client.pullDifference(image)).toBeUndefined();
    });

    it('dry run names exactly the blobs the real run then deletes, and deletes nothing', async () => {
      const repository = repo();
      const kept = testImage(repository, 'kept', [testBlob(), testBlob()]);
      const dropped = testImage(repository, 'dropped', [testBlob(), kept.blobs[1]!, testBlob()]);
      const loose = [testBlob(), testBlob()];
      expect(await client.pushImage(kept)).toBe(true);
      expect(await client.pushImage(dropped)).toBe(true);
      for (const blob of loose) expect(await client.uploadBlob(repository, blob)).toBe(201);
      expect(await client.deleteManifest(repository, dropped.digest)).toBe(202);
      fx.clock.advance(2 * HOUR);
      for (const full of [false, true]) {
        const dry = await gc({ dryRun: true, full });
        expect(dry.dryRun).toBe(true);
        const expected = [dropped.blobs[0]!, dropped.blobs[2]!, ...loose].map((b) => b.digest).sort();
        expect(deletedDigests(dry)).toEqual(expected);
        for (const blob of [...dropped.blobs, ...loose]) expect(await fx.bytesExist(blob.digest)).toBe(true);
      }
      const dry = await gc({ dryRun: true });
      const real = await gc();
      expect(deletedDigests(real)).toEqual(deletedDigests(dry));
      expect(real.bytesFreed).toBe(dry.bytesFreed);
      expect(await client.pullDifference(kept)).toBeUndefined();
    });

    it('stops at the deadline with complete=false, and the next pass goes on', async () => {
      const repository = repo();
      const loose = [testBlob(), testBlob(), testBlob()];
      for (const blob of loose) expect(await client.uploadBlob(repository, blob)).toBe(201);
      fx.clock.advance(2 * HOUR);
      const stopped = await runGc({ gc: fx.gc, metadata: fx.metadata, clock: fx.clock }, { minAgeMs: HOUR, deadline: fx.clock.now() });
      expect(stopped).toMatchObject({ complete: false, blobsDeleted: 0 });
      for (const blob of loose) expect(await fx.bytesExist(blob.digest)).toBe(true);
      const resumed = await gc();
      expect(resumed.complete).toBe(true);
      expect(deletedDigests(resumed)).toEqual(loose.map((b) => b.digest).sort());
    });

    it('sweeps uploads abandoned past their expiry, and only those', async () => {
      const repository = repo();
      const sessionOf = (response: Response) => new URL(response.headers.get('location')!, 'http://registry.test').pathname.split('/').at(-1)!;
      const started = await client.send('POST', `/v2/${repository}/blobs/uploads/`);
      expect(started.status).toBe(202);
      const patched = await client.send('PATCH', started.headers.get('location')!, { body: new Uint8Array(1000), headers: { 'content-type': 'application/octet-stream' } });
      expect(patched.status).toBe(202);
      const abandoned = sessionOf(started);
      fx.clock.advance(HOUR);
      expect((await gc()).uploadsSwept).toBe(0);
      expect(await fx.metadata.getUpload(abandoned)).toBeDefined();
      fx.clock.advance(25 * HOUR); // past the default 24 h session TTL
      const recentStart = await client.send('POST', `/v2/${repository}/blobs/uploads/`);
      expect(recentStart.status).toBe(202);
      const recent = sessionOf(recentStart);
      const dry = await gc({ dryRun: true });
      expect(dry.uploadsSwept).toBe(1);
      expect(await fx.metadata.getUpload(abandoned)).toBeDefined();
      const swept = await gc();
      expect(swept.uploadsSwept).toBe(1);
      expect(swept.uploadBytesFreed).toBe(dry.uploadBytesFreed);
      expect(await fx.metadata.getUpload(abandoned)).toBeUndefined();
      expect(await fx.metadata.getUpload(recent)).toBeDefined();
    });

    it('never leaves a served manifest with unreadable blobs, nor a link without bytes, when pushes race collection (60 rounds)', async () => {
      const repository = repo();
      let collected = 0;
      for (let round = 0; round < 60; round++) {
        // Old, unreferenced blobs: garbage the moment the pass starts.
        const shared = testBlob(256 + round);
        const headOnly = testBlob(300 + round);
        const fresh = testBlob(200 + round);
        expect(await client.uploadBlob(repository, shared)).toBe(201);
        expect(await client.uploadBlob(repository, headOnly)).toBe(201);
        expect(await client.uploadBlob(repository, fresh)).toBe(201);
        fx.clock.advance(10);
        const image = testImage(repository, `r${round}`, [fresh, shared]);
        const skipper = testImage(repository, `s${round}`, [headOnly]);
        // The collector acts on each old blob while pushes use it, each side starting a little
        // earlier or later from round to round. No retries: every answer given must hold after.
        const cutoff = fx.clock.now() - 1;
        const collect = (blob: TestBlob) => fx.gc.collectBlob(blob.digest, cutoff);
        const [verdicts, uploaded, stored, skipped] = await Promise.all([
          Promise.all([later(round % 2, () => collect(shared)), later(round % 3, () => collect(headOnly)), later(round % 2, () => collect(fresh))]),
          later((round * 7) % 9, () => client.uploadBlob(repository, shared)),
          later((round * 5) % 11, () => client.putManifest(image)),
          later((round * 3) % 10, () => client.putManifest(skipper)),
        ]);
        collected += verdicts.filter((verdict) => verdict.state === 'garbage').length;
        if (uploaded === 201) await expectServed(repository, shared);
        if (stored === 201) expect(await client.pullDifference(image), `round ${round}`).toBeUndefined();
        if (skipped === 201) expect(await client.pullDifference(skipper), `round ${round}`).toBeUndefined();
        for (const blob of [shared, headOnly, fresh]) {
          const linked = await fx.metadata.isBlobLinked(repository, blob.digest);
          if (linked) expect(await fx.metadata.getBlob(blob.digest), `round ${round}: linked ${blob.digest} has no record`).toBeDefined();
          if (linked) expect(await fx.bytesExist(blob.digest), `round ${round}: linked ${blob.digest} has no bytes`).toBe(true);
        }
        // A push that lost does what clients do: pushes again, and then it holds.
        if (stored !== 201) expect(await client.pushImage(image)).toBe(true);
        expect(await client.pullDifference(image)).toBeUndefined();
      }
      // The collector did take part: it deleted old blobs in the rounds.
      expect(collected).toBeGreaterThan(0);
    }, 180_000);
  });
}

export type { TestImage };
