import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import type { MetadataStore } from '../../functions/core/index';
import type { RetentionReport } from '../../functions/core/policy/runner';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { sha256 } from '../contract/blob-store.contract';
import { fakeManifest } from '../contract/metadata-helpers';
import { runNimbus } from '../support/nimbus-cli';

const DAY = 24 * 60 * 60 * 1000;

/** Tags `count` manifests (each with a 16-byte layer) in `repository`, pushed a day apart, the newest last. */
async function seed(store: MetadataStore, repository: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const digest = sha256(randomBytes(16));
    await store.putBlob({ digest, size: 16, location: `loc-${i}`, createdAt: 1 });
    await store.linkBlob(repository, digest);
    const manifest = { ...fakeManifest(), createdAt: Date.now() - (count - i) * DAY };
    await store.putManifest(repository, manifest, { blobs: [digest], manifests: [] }, `t${i}`);
  }
}

describe('nimbus retention and immutability on a local data dir (in process)', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nimbus-policy-cli-'));
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));
  const nimbus = (args: string[], input?: string) => runNimbus(args, { env: { NIMBUS_DATA_DIR: dataDir }, ...(input === undefined ? {} : { input }) });

  it('prints help with examples for every command', async () => {
    for (const command of [['retention', 'set'], ['retention', 'show'], ['retention', 'run'], ['immutability', 'add'], ['immutability', 'list'], ['immutability', 'remove']]) {
      const help = await nimbus([...command, '--help']);
      expect(help.code, command.join(' ')).toBe(0);
      expect(help.stdout).toContain('Examples:');
      expect(help.stdout).toContain('--registry');
    }
    expect((await nimbus(['--help'])).stdout).toMatch(/retention[\s\S]*immutability/);
  });

  it('sets, shows and runs retention from a file, dry first; reports invalid documents clearly', async () => {
    const store = new FsMetadataStore(dataDir, { fsync: false });
    await store.init();
    await seed(store, 'team/app', 4);
    const file = join(dataDir, 'retention.json');
    await writeFile(file, JSON.stringify({ rules: [{ repositories: 'team/*', keepLast: 1 }] }));
    expect((await nimbus(['retention', 'set', file])).code).toBe(0);
    expect(JSON.parse((await nimbus(['retention', 'show', '--json'])).stdout)).toEqual({ rules: [{ repositories: 'team/*', keepLast: 1 }] });

    const dry = await nimbus(['retention', 'run', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/team\/app\s+t0\s+sha256:[a-f0-9]{64}\s+keepLast/);
    expect(dry.stdout).toContain('would delete 3 tag(s)');
    const run = JSON.parse((await nimbus(['retention', 'run', '--json'])).stdout) as RetentionReport;
    expect(run.deleted.map((d) => d.tag)).toEqual(['t0', 't1', 't2']);
    const after = new FsMetadataStore(dataDir, { fsync: false });
    expect((await after.listTags('team/app', { limit: 10 })).items).toEqual(['t3']);

    await writeFile(file, JSON.stringify({ rules: [{ repositories: 'team/*', keepTags: ['[bad'] }] }));
    const invalid = await nimbus(['retention', 'set', file]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('POLICY_INVALID');
    expect(invalid.stderr).toContain('rules[0].keepTags[0]');
  });

  it('adds, lists and removes immutability rules', async () => {
    expect((await nimbus(['immutability', 'add', '--repository', 'team/**', '--tags', 'v*,release-?', '--except', 'v0'])).stdout).toContain('rule-1 added');
    expect((await nimbus(['immutability', 'add', '--repository', '**', '--id', 'everything'])).code).toBe(0);
    const duplicate = await nimbus(['immutability', 'add', '--repository', '**', '--id', 'everything']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('exists already');
    const listed = await nimbus(['immutability', 'list']);
    expect(listed.stdout).toMatch(/rule-1\s+team\/\*\*\s+v\*,release-\?\s+v0/);
    expect(listed.stdout).toMatch(/everything\s+\*\*\s+\*/);
    expect((await nimbus(['immutability', 'remove', 'rule-1'])).code).toBe(0);
    expect(JSON.parse((await nimbus(['immutability', 'list', '--json'])).stdout)).toEqual({ version: 1, rules: [{ id: 'everything', repositories: '**' }] });
    const missing = await nimbus(['immutability', 'remove', 'rule-1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no immutability rule rule-1');
    const bad = await nimbus(['immutability', 'add', '--repository', 'Bad Pattern']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a repository pattern');
  });
});

describe('nimbus retention and immutability with --dynamodb-local', () => {
  let emulators: AwsEmulators;
  beforeAll(async () => {
    emulators = await startAwsEmulators();
  });
  afterAll(async () => emulators?.stop());

  it('runs retention and manages immutability rules on the table', async () => {
    const { table, bucket } = await emulators.createResources();
    const stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
    await seed(stores.metadata, 'dev/app', 3);
    const target = ['--dynamodb-local', emulators.endpoints.dynamodb, '--table', table, '--bucket', bucket, '--s3-endpoint', emulators.endpoints.s3];
    const nimbus = (args: string[], input?: string) => runNimbus([...args, ...target], { ...(input === undefined ? {} : { input }) });
    const set = await nimbus(['retention', 'set', '-'], JSON.stringify({ rules: [{ repositories: '**', keepLast: 1, untaggedOlderThanDays: 0 }] }));
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain(`table ${table}`);
    const dry = JSON.parse((await nimbus(['retention', 'run', '--dry-run', '--json'])).stdout) as RetentionReport;
    const real = JSON.parse((await nimbus(['retention', 'run', '--json'])).stdout) as RetentionReport;
    expect(real.deleted).toEqual(dry.deleted);
    expect(real.tagsDeleted).toBe(2);
    expect(real.manifestsDeleted).toBe(2);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
    expect((await stores.metadata.listTags('dev/app', { limit: 10 })).items).toEqual(['t2']);

    expect((await nimbus(['immutability', 'add', '--repository', 'dev/*', '--tags', 't*'])).code).toBe(0);
    expect((await stores.policies.get('immutability'))?.document).toEqual({ version: 1, rules: [{ id: 'rule-1', repositories: 'dev/*', tags: ['t*'] }] });
    expect((await nimbus(['immutability', 'list'])).stdout).toMatch(/rule-1\s+dev\/\*\s+t\*/);
  });
});
