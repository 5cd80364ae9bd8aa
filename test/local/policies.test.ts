import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionReport } from '../../functions/core/policy/runner';
import { MAX_POLICY_BYTES } from '../../functions/core/handlers/policies';
import { runNimbus } from '../support/nimbus-cli';
import { exitCode, start, type Started } from './local-server';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes a one-layer image (random bytes) as `repository:tag`; returns the manifest digest. */
async function pushImage(base: string, repository: string, tag: string): Promise<{ status: number; digest: string; body: unknown }> {
  const blobs = [randomBytes(64), randomBytes(200)];
  for (const bytes of blobs) {
    const put = await fetch(`${base}/v2/${repository}/blobs/uploads/?digest=${sha256(bytes)}`, { method: 'POST', body: bytes });
    expect(put.status).toBe(201);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(blobs[0]!), size: 64 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blobs[1]!), size: 200 }],
  });
  const response = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  const text = await response.text();
  return { status: response.status, digest: sha256(new TextEncoder().encode(manifest)), body: text ? JSON.parse(text) : undefined };
}

describe('retention and immutability on npm start', () => {
  let dir: string;
  let server: Started;
  const nimbus = (args: string[], input?: string) => runNimbus([...args, '--registry', server.url], { ...(input === undefined ? {} : { input }) });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-policies-'));
    server = await start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_FSYNC: 'off' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    if (server) await exitCode(server.child);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an invalid document with 400 POLICY_INVALID saying what and where, and a stale If-Match with 409', async () => {
    const bad = await fetch(`${server.url}/v2/_nimbus/retention`, { method: 'PUT', body: JSON.stringify({ rules: [{ repositories: 'Team/*', keepLast: -1 }] }) });
    expect(bad.status).toBe(400);
    const error = (await bad.json() as { errors: Array<{ code: string; message: string }> }).errors[0]!;
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.message).toContain('rules[0].repositories');
    expect(error.message).toContain('rules[0].keepLast');
    expect((await fetch(`${server.url}/v2/_nimbus/retention`, { method: 'PUT', body: '{nope' })).status).toBe(400);
    // Larger than any store keeps in one document (DynamoDB: one item): 413, nothing stored.
    const huge = JSON.stringify({ rules: Array.from({ length: 3000 }, (_, i) => ({ repositories: `team${i}/**`, keepLast: 5 })) });
    expect(huge.length).toBeGreaterThan(MAX_POLICY_BYTES);
    const tooLarge = await fetch(`${server.url}/v2/_nimbus/retention`, { method: 'PUT', body: huge });
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('SIZE_INVALID');

    const current = await fetch(`${server.url}/v2/_nimbus/immutability`);
    const etag = current.headers.get('etag')!;
    expect(await current.json()).toEqual({ version: 1, rules: [] });
    const first = await fetch(`${server.url}/v2/_nimbus/immutability`, { method: 'PUT', body: JSON.stringify({ rules: [] }), headers: { 'if-match': etag } });
    expect(first.status).toBe(200);
    const stale = await fetch(`${server.url}/v2/_nimbus/immutability`, { method: 'PUT', body: JSON.stringify({ rules: [] }), headers: { 'if-match': etag } });
    expect(stale.status).toBe(409);
    expect((await stale.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('POLICY_CONFLICT');
  });

  it('immutability via the CLI: an immutable tag is neither overwritten nor deleted, an excluded one moves, the rule can be removed', async () => {
    const added = await nimbus(['immutability', 'add', '--repository', 'locked/**', '--except', 'latest', '--id', 'locked-all']);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect((await pushImage(server.url, 'locked/app', 'v1')).status).toBe(201);
    const overwrite = await pushImage(server.url, 'locked/app', 'v1');
    expect(overwrite.status).toBe(403);
    expect(JSON.stringify(overwrite.body)).toContain('locked-all');
    expect((await fetch(`${server.url}/v2/locked/app/manifests/v1`, { method: 'DELETE' })).status).toBe(403);
    expect((await pushImage(server.url, 'locked/app', 'latest')).status).toBe(201);
    expect((await pushImage(server.url, 'locked/app', 'latest')).status).toBe(201);
    const listed = await nimbus(['immutability', 'list']);
    expect(listed.stdout).toMatch(/locked-all\s+locked\/\*\*\s+\*\s+latest/);
    // NIMBUS_URL names the server as --registry does.
    const viaEnv = await runNimbus(['immutability', 'list', '--json'], { env: { NIMBUS_URL: server.url } });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ rules: [{ id: 'locked-all', repositories: 'locked/**', except: ['latest'] }] });
    expect((await nimbus(['immutability', 'remove', 'locked-all'])).code).toBe(0);
    expect((await pushImage(server.url, 'locked/app', 'v1')).status).toBe(201);
  });

  it('retention via the CLI: a dry run lists exactly what the run then deletes', async () => {
    const pushed: string[] = [];
    for (let i = 0; i < 5; i++) pushed.push((await pushImage(server.url, 'ci/builds', `b${i}`)).digest);
    const set = await nimbus(['retention', 'set', '-'], JSON.stringify({ rules: [{ repositories: 'ci/*', keepLast: 2, untaggedOlderThanDays: 0 }] }));
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('1 rule(s)');
    expect(JSON.parse((await nimbus(['retention', 'show', '--json'])).stdout)).toEqual({ rules: [{ repositories: 'ci/*', keepLast: 2, untaggedOlderThanDays: 0 }] });
    const dry = JSON.parse((await nimbus(['retention', 'run', '--dry-run', '--json'])).stdout) as RetentionReport;
    expect(dry.dryRun).toBe(true);
    expect(dry.deleted.filter((d) => d.tag).map((d) => d.tag)).toEqual(['b0', 'b1', 'b2']);
    expect((await fetch(`${server.url}/v2/ci/builds/tags/list`).then((r) => r.json()) as { tags: string[] }).tags).toHaveLength(5);
    const real = JSON.parse((await nimbus(['retention', 'run', '--json'])).stdout) as RetentionReport;
    expect(real.deleted).toEqual(dry.deleted);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
    expect(real.bytesFreed).toBeGreaterThan(3 * 264);
    expect((await fetch(`${server.url}/v2/ci/builds/tags/list`).then((r) => r.json()) as { tags: string[] }).tags).toEqual(['b3', 'b4']);
    for (const digest of pushed.slice(0, 3)) expect((await fetch(`${server.url}/v2/ci/builds/manifests/${digest}`)).status).toBe(404);
    const summary = await nimbus(['retention', 'run', '--dry-run']);
    expect(summary.stdout).toContain('would delete 0 tag(s) and 0 manifest(s)');
  });

  it('goes through the server holding the data dir (the URL it wrote to <data>/.url), never around it', async () => {
    const viaDataDir = (args: string[]) => runNimbus([...args, '--data-dir', join(dir, 'data')]);
    const added = await viaDataDir(['immutability', 'add', '--repository', 'via/**', '--id', 'via-url']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toBe(`${new URL(server.url).origin}: immutability rule via-url added\n`);
    const served = await (await fetch(`${server.url}/v2/_nimbus/immutability`)).json() as { rules: Array<{ id: string }> };
    expect(served.rules.map((rule) => rule.id)).toContain('via-url');
    expect((await viaDataDir(['immutability', 'remove', 'via-url'])).code).toBe(0);
    const after = await (await fetch(`${server.url}/v2/_nimbus/immutability`)).json() as { rules: Array<{ id: string }> };
    expect(after.rules.map((rule) => rule.id)).not.toContain('via-url');
  });
});

describe('scheduled retention on npm start (NIMBUS_RETENTION_INTERVAL)', () => {
  let dir: string;
  let server: Started;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-retention-schedule-'));
    server = await start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_FSYNC: 'off', NIMBUS_RETENTION_INTERVAL: '1' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    if (server) await exitCode(server.child);
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the retention document by itself, with no run asked for, and logs what it deleted', async () => {
    const old = await pushImage(server.url, 'sched/app', 'v1');
    expect(old.status).toBe(201);
    expect((await pushImage(server.url, 'sched/app', 'v2')).status).toBe(201);
    const put = await fetch(`${server.url}/v2/_nimbus/retention`, { method: 'PUT', body: JSON.stringify({ rules: [{ repositories: 'sched/*', keepLast: 1 }] }) });
    expect(put.status).toBe(200);
    const tags = async () => ((await (await fetch(`${server.url}/v2/sched/app/tags/list`)).json()) as { tags: string[] }).tags;
    await expect.poll(tags, { timeout: 15_000 }).toEqual(['v2']);
    // The manifest stays (no untaggedOlderThanDays): the tag only went.
    expect((await fetch(`${server.url}/v2/sched/app/manifests/${old.digest}`, { method: 'HEAD' })).status).toBe(200);
    await expect.poll(() => server.output().split('\n').filter((line) => line.includes('"scheduled retention run"') && line.endsWith('}'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .some((line) => line.level === 'info' && line.tagsDeleted === 1 && line.trigger === 'schedule')).toBe(true);
  });
});
