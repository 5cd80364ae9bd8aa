import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { verifySecret } from '../../functions/auth/secret-hash';
import { runNimbus, type Run } from '../support/nimbus-cli';

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-cli-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

/** Runs `node bin/nimbus.mjs ...args` as a user would, against the temp data dir. */
function nimbus(args: string[], input?: string): Promise<Run> {
  return runNimbus(args, { env: { NIMBUS_DATA_DIR: dataDir }, ...(input !== undefined ? { input } : {}) });
}

describe('nimbus CLI on a local data dir', () => {
  it('prints help for the program and every command group', async () => {
    const top = await nimbus(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['user', 'robot', 'grant', 'revoke', 'grants', 'oidc', 'keys']) expect(top.stdout).toContain(command);
    for (const group of [['user', 'add'], ['robot', 'create'], ['grant'], ['oidc', 'rule', 'add'], ['keys', 'rotate']]) {
      const help = await nimbus([...group, '--help']);
      expect(help.code, group.join(' ')).toBe(0);
      expect(help.stdout).toContain('Usage: nimbus');
    }
  });

  it('adds users with --password-stdin, grants, lists, revokes and removes', async () => {
    const add = await nimbus(['user', 'add', 'alice', '--password-stdin'], 'correct horse battery\n');
    expect(add).toMatchObject({ code: 0 });
    const store = new FsIdentityStore(dataDir);
    const record = (await store.getPrincipal('alice'))!;
    expect(await verifySecret('correct horse battery', record.secretHash)).toBe(true);
    expect(JSON.stringify(record)).not.toContain('correct horse battery');
    expect((await stat(join(dataDir, 'meta/auth/principals/alice.json'))).mode & 0o777).toBe(0o600);

    expect((await nimbus(['grant', 'alice', 'alice/*', 'pull,push'])).code).toBe(0);
    expect(await store.grantsOf('alice')).toEqual([{ pattern: 'alice/*', actions: ['pull', 'push'] }]);
    const list = await nimbus(['user', 'list']);
    expect(list.stdout).toMatch(/alice\s+user\s+.*alice\/\*:pull,push/);

    expect((await nimbus(['revoke', 'alice', 'alice/*', 'push'])).code).toBe(0);
    expect(await store.grantsOf('alice')).toEqual([{ pattern: 'alice/*', actions: ['pull'] }]);
    expect((await nimbus(['user', 'remove', 'alice'])).code).toBe(0);
    expect(await store.getPrincipal('alice')).toBeUndefined();
    expect(await store.grantsOf('alice')).toEqual([]);
  });

  it('creates a robot and prints its secret once, on stdout alone', async () => {
    const created = await nimbus(['robot', 'create', 'ci']);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^nimbus_[A-Za-z0-9_-]{43}$/);
    const record = (await new FsIdentityStore(dataDir).getPrincipal('robot+ci'))!;
    expect(record.kind).toBe('robot');
    expect(await verifySecret(secret, record.secretHash)).toBe(true);
    const list = await nimbus(['robot', 'list']);
    expect(list.stdout).toContain('robot+ci');
    expect(list.stdout).not.toContain(secret);
  });

  it('refuses mistakes with actionable messages and exit code 1', async () => {
    const cases: [string[], RegExp, string?][] = [
      [['grant', 'nobody', 'x/*', 'pull'], /no user or robot named "nobody": create it first/],
      [['grant', 'anonymous', 'x/*', 'push'], /anonymous callers may only pull/],
      [['grant', 'anonymous', 'X/*', 'pull'], /not a repository pattern/],
      [['grant', 'anonymous', 'x/*', 'pull,write'], /unknown action "write"/],
      [['user', 'add', 'oidc', '--password-stdin'], /reserved/, 'long enough password'],
      [['user', 'add', 'Bad Name', '--password-stdin'], /not a valid user name/, 'long enough password'],
      [['user', 'add', 'bob', '--password-stdin'], /at least 8 characters/, 'short'],
      [['user', 'remove', 'ghost'], /no user named "ghost"/],
      [['oidc', 'rule', 'add', 'https://ci.example', 'org/app', 'push', '--when', 'a == "b"'], /not trusted yet/],
      [['oidc', 'trust', 'http://ci.example', '--audience', 'x'], /must use https/],
    ];
    for (const [args, message, input] of cases) {
      const result = await nimbus(args, input);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack traces
    }
    await nimbus(['user', 'add', 'bob', '--password-stdin'], 'long enough password');
    const twice = await nimbus(['user', 'add', 'bob', '--password-stdin'], 'long enough password');
    expect(twice.stderr).toMatch(/"bob" already exists/);
  });

  it('trusts a CI issuer and numbers its rules', async () => {
    const issuer = 'https://token.actions.githubusercontent.com';
    expect((await nimbus(['oidc', 'trust', issuer, '--audience', 'https://registry.example'])).code).toBe(0);
    const rule = await nimbus(['oidc', 'rule', 'add', issuer, 'org/app', 'pull,push', '--when', 'repository == "org/app" && ref == "refs/heads/main"']);
    expect(rule.code).toBe(0);
    const bad = await nimbus(['oidc', 'rule', 'add', issuer, 'org/app', 'pull', '--when', 'repository = "x"']);
    expect(bad.stderr).toMatch(/--when: /);
    const federation = (await new FsIdentityStore(dataDir).getFederation(issuer))!;
    expect(federation.rules).toEqual([{ when: 'repository == "org/app" && ref == "refs/heads/main"', pattern: 'org/app', actions: ['pull', 'push'] }]);
    expect((await nimbus(['oidc', 'list'])).stdout).toMatch(/1\s+repository == "org\/app"/);
    expect((await nimbus(['oidc', 'rule', 'remove', issuer, '1'])).code).toBe(0);
    expect((await new FsIdentityStore(dataDir).getFederation(issuer))!.rules).toEqual([]);
  });

  it('rotates the local signing key, keeping the old one for verification', async () => {
    const before = (await nimbus(['keys', 'list'])).stdout.trim().split(/\s+/)[0];
    await nimbus(['keys', 'rotate']);
    const after = (await nimbus(['keys', 'list'])).stdout;
    expect(after).toMatch(new RegExp(`${before}\\s+verify only`));
    expect((await stat(join(dataDir, 'meta/secrets/token-signing.key'))).mode & 0o777).toBe(0o600);
  });
});
