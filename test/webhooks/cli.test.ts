import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNimbus } from '../support/nimbus-cli';

describe('nimbus webhook on a data dir no server holds (in process)', () => {
  let dir: string;
  const nimbus = (args: string[], input?: string) => runNimbus(['--data-dir', dir, 'webhook', ...args], { ...(input === undefined ? {} : { input }) });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-webhook-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('adds with a secret from stdin and headers, lists without secrets, and removes', async () => {
    const added = await nimbus(['add', 'http://127.0.0.1:9/deploy', '--events', 'push', '--repository', 'team/**', '--secret-stdin', '--header', 'Authorization=Bearer t0ken-value'],
      'a-secret-from-stdin\n');
    expect(added.stderr).toBe('');
    expect(added.stdout).toMatch(/webhook wh-[0-9a-f]{12} added: push of team\/\*\* to http:\/\/127\.0\.0\.1:9\/deploy/);
    expect(added.stdout).not.toMatch(/signing secret/);
    const id = /wh-[0-9a-f]{12}/.exec(added.stdout)![0];
    const stored = await readFile(join(dir, 'meta', 'secrets', 'webhooks', `${id}.json`), 'utf8');
    expect(JSON.parse(stored)).toEqual({ secret: 'a-secret-from-stdin', headers: { Authorization: 'Bearer t0ken-value' } });
    expect((await stat(join(dir, 'meta', 'secrets', 'webhooks', `${id}.json`))).mode & 0o777).toBe(0o600);

    const list = await nimbus(['list']);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+push\\s+team/\\*\\*\\s+Authorization\\s+http://127.0.0.1:9/deploy`));
    expect(list.stdout).not.toMatch(/t0ken-value|a-secret-from-stdin/);

    // Nothing listens on port 9: the ping fails, and is listed as a dead letter.
    const ping = await nimbus(['test', id]);
    expect(ping.code).toBe(1);
    expect(ping.stdout).toMatch(/^failed: .*ECONNREFUSED.* in \d+ ms/);
    const dead = await nimbus(['deliveries', '--state', 'dead']);
    expect(dead.stdout).toMatch(new RegExp(`\\d+\\s+${id}\\s+dead\\s+1\\s+ping\\s+team/\\*\\*\\s+.*ECONNREFUSED`));

    const removed = await nimbus(['remove', id]);
    expect(removed.stdout).toMatch(`webhook ${id} removed`);
    expect(await readdir(join(dir, 'meta', 'secrets', 'webhooks'))).toEqual([]);
    expect((await nimbus(['remove', id])).stderr).toMatch(`no webhook ${id}`);
  });

  it('documents each command with examples', async () => {
    const help = await nimbus(['--help']);
    for (const command of ['add', 'list', 'remove', 'test', 'deliveries']) expect(help.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
    const add = await nimbus(['add', '--help']);
    expect(add.stdout).toMatch(/--secret-stdin/);
    expect(add.stdout).toMatch(/NIMBUS_WEBHOOK_ADDRESSES=any/);
  });
});
