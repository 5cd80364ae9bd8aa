import { expect } from 'vitest';
import { GcTestClient, testBlob, testImage, type TestBlob, type TestImage } from './gc-images';

/**
 * Issue 12's stress run, on any store: pushes, deletes and garbage collection passes (zero
 * safety window) run together for at least `runMs`, and longer on a slow machine until the
 * work floors are met. Nothing pushed and kept is lost (every kept image pulls back byte for
 * byte), and once quiet, storage holds exactly the blobs kept images use.
 */
export interface GcStressTarget {
  readonly client: GcTestClient;
  /** One pass with a zero safety window; returns how many blobs it deleted. */
  gcPass(full: boolean): Promise<number>;
  /** Asserts storage holds the bytes of exactly these digests, and no other blob's. */
  expectStoredExactly(digests: readonly string[]): Promise<void>;
}

const PUSHERS = 3;
/**
 * The least work a run must hold, however slow the machine: the run lasts `runMs` and then
 * goes on until each floor is passed, so a loaded CI machine stretches it instead of failing it.
 */
const FLOORS = { pushed: 20, deleted: 5, passes: 5 } as const;

export async function stressGc(target: GcStressTarget, runMs: number): Promise<void> {
  const { client } = target;
  const until = Date.now() + runMs;
  // A bound on the stretch, so a run that cannot reach the floors fails on them instead of hanging.
  const giveUpAt = Date.now() + 3 * runMs;
  // Layers many images share, so pushes keep re-using blobs the collector is looking at.
  const shared: TestBlob[] = Array.from({ length: 8 }, (_, i) => testBlob(4096 + i));
  const kept = new Map<string, TestImage>();
  const deletable: TestImage[] = [];
  const deletedImages: TestImage[] = [];
  const counts = { pushed: 0, gaveUp: 0, deleted: 0, collected: 0, passes: 0 };
  const running = () => Date.now() < until || (Date.now() < giveUpAt
    && (counts.pushed <= FLOORS.pushed || counts.deleted <= FLOORS.deleted || counts.passes <= FLOORS.passes || counts.collected === 0));

  const pusher = async (worker: number) => {
    for (let n = 0; running(); n++) {
      const layers = [shared[(worker + n) % shared.length]!, shared[(n * 3) % shared.length]!];
      // Every third push brings back a deleted image, blobs and all: its blobs are exactly what
      // the collector is deleting, so uploads complete into digests being collected.
      const image = (n % 3 === 2 ? deletedImages.shift() : undefined)
        ?? testImage(`stress/w${worker}`, `t${n}`, [testBlob(300), ...new Set(layers), testBlob(2048)]);
      const ok = n % 2 === 0 ? await client.pushImage(image) : await client.pushImageSkippingExisting(image);
      // A push that keeps losing its blobs to zero-window passes gives up, as a client would
      // (rare): it was never stored, so nothing is owed. The invariant is about what was.
      if (!ok) {
        counts.gaveUp++;
        continue;
      }
      counts.pushed++;
      kept.set(image.digest, image);
      deletable.push(image);
    }
  };
  const deleter = async () => {
    while (running()) {
      const image = deletable.splice(Math.floor(deletable.length / 3), 1)[0];
      if (!image) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      kept.delete(image.digest);
      expect(await client.deleteManifest(image.repository, image.digest)).toBe(202);
      counts.deleted++;
      deletedImages.push(image);
    }
  };
  const collector = async () => {
    while (running()) {
      counts.collected += await target.gcPass(counts.passes % 5 === 4);
      counts.passes++;
    }
  };
  await Promise.all([...Array.from({ length: PUSHERS }, (_, i) => pusher(i)), deleter(), collector()]);
  expect(counts.pushed).toBeGreaterThan(FLOORS.pushed);
  expect(counts.gaveUp).toBeLessThan(counts.pushed);
  expect(counts.deleted).toBeGreaterThan(FLOORS.deleted);
  expect(counts.collected).toBeGreaterThan(0);
  expect(counts.passes).toBeGreaterThan(FLOORS.passes);

  for (const image of kept.values()) expect(await client.pullDifference(image)).toBeUndefined();
  // Quiet now: one more pass leaves exactly the blobs the kept images use.
  // The cutoff lies just before a pass starts: start it once the clock has moved past the last push.
  const quietSince = Date.now();
  while (Date.now() <= quietSince) await new Promise((resolve) => setImmediate(resolve));
  await target.gcPass(true);
  await target.expectStoredExactly([...new Set([...kept.values()].flatMap((image) => image.blobs.map((blob) => blob.digest)))]);
  for (const image of kept.values()) expect(await client.pullDifference(image)).toBeUndefined();
}
