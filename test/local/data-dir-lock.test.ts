import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { lockDataDir, removeTmpLeftovers } from '../../functions/adapters/fs/data-dir';

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
  expect(await readFile(join(dir, '.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid} ${await thisBoot()} [0-9a-f-]{36}$`));
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

it('lets only one of several servers starting at once take over a stale lock', async () => {
  const child = `
    import { lockDataDir } from ${JSON.stringify(join(process.cwd(), 'functions/adapters/fs/data-dir.ts'))};
    import { createInterface } from 'node:readline';
    const lines = createInterface({ input: process.stdin });
    console.log('ready');
    for await (const line of lines) {
      if (line !== 'go') continue;
      try { await lockDataDir(process.argv[1]); console.log('locked'); } catch (error) { console.log('refused ' + error.message); }
    }`;
  for (let round = 0; round < 6; round++) {
    await writeFile(join(dir, '.lock'), `2147483646 ${await thisBoot()} stale-${round}`);
    const servers = Array.from({ length: 3 }, () => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child, dir], { stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const outputs = servers.map((server) => createInterface({ input: server.stdout! })[Symbol.asyncIterator]());
      await Promise.all(outputs.map(async (output) => expect((await output.next()).value).toBe('ready')));
      for (const server of servers) server.stdin!.write('go\n');
      const answers = await Promise.all(outputs.map(async (output) => String((await output.next()).value)));
      expect(answers.filter((answer) => answer === 'locked')).toHaveLength(1);
      expect(answers.filter((answer) => answer.startsWith('refused')).every((answer) => /in use by another Nimbus server/.test(answer))).toBe(true);
    } finally {
      for (const server of servers) server.kill('SIGKILL');
      await Promise.all(servers.map((server) => new Promise((resolve) => (server.exitCode !== null ? resolve(undefined) : server.once('exit', resolve)))));
    }
  }
}, 60_000);

it('removes tmp/ leftovers older than the cutoff and keeps fresh ones (a CLI may be writing them)', async () => {
  await mkdir(join(dir, 'tmp'));
  await writeFile(join(dir, 'tmp', 'old'), 'x');
  await writeFile(join(dir, 'tmp', 'fresh'), 'x');
  const hourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  await utimes(join(dir, 'tmp', 'old'), hourAgo, hourAgo);
  expect(await removeTmpLeftovers(dir)).toBe(1);
  expect(await readdir(join(dir, 'tmp'))).toEqual(['fresh']);
});
