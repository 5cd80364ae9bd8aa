import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { lockDataDir } from '../../functions/adapters/fs/data-dir';

// The lock is a pid and a boot id: a live process of this boot holds the data dir; a dead
// one, or any pid from an earlier boot (after a power loss it may be another program's), does not.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nimbus-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const thisBoot = async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
/** A process of this boot that is alive and is not this one: the test runner's parent. */
const livePid = process.ppid;

it('refuses a data dir locked by a live process of this boot, naming its pid', async () => {
  await writeFile(join(dir, '.lock'), `${livePid} ${await thisBoot()}`);
  await expect(lockDataDir(dir)).rejects.toThrow(new RegExp(`in use by another Nimbus server \\(pid ${livePid}\\)`));
});

it('takes over a lock written before a reboot, even when its pid is alive now', async () => {
  await writeFile(join(dir, '.lock'), `${livePid} 00000000-0000-0000-0000-000000000000`);
  const unlock = await lockDataDir(dir);
  expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${process.pid} ${await thisBoot()}`);
  await unlock();
});

it('takes over a lock whose process is gone, and an empty one', async () => {
  for (const stale of ['2147483646', '']) {
    await writeFile(join(dir, '.lock'), stale);
    const unlock = await lockDataDir(dir);
    expect(await readFile(join(dir, '.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await unlock();
  }
});
