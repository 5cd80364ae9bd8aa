import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { TTL_ATTRIBUTE } from '../../functions/adapters/aws/table-schema';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoCacheMarks, DynamoFillLeases, VaultCacheSecrets } from '../../functions/adapters/aws/cache-stores';
import { memorySecretVault } from '../../functions/adapters/aws/secret-vault';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';

// The pull-through cache's AWS stores (functions/adapters/aws/cache-stores.ts), on DynamoDB Local.
let emulators: AwsEmulators;
let doc: ReturnType<typeof awsClients>['dynamodb'];
let table: string;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  ({ table } = await emulators.createResources());
  doc = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true }).dynamodb;
});
afterAll(async () => emulators?.stop());

describe('DynamoFillLeases', () => {
  it('grants a blob\'s lease to one of many concurrent instances (rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      const key = `team/app@sha256:${round}${crypto.randomUUID()}`;
      const instances = Array.from({ length: 8 }, () => new DynamoFillLeases(doc, table));
      const granted = await Promise.all(instances.map((leases) => leases.acquire(key, 60_000)));
      expect(granted.filter(Boolean)).toHaveLength(1);
      await instances[granted.indexOf(true)]!.release(key);
      expect(await instances[0]!.acquire(key, 60_000)).toBe(true);
    }
  });

  it('lets a lease past its time be taken over, and the old holder\'s release never ends its successor\'s', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const [crashed, successor, third] = [new DynamoFillLeases(doc, table, clock), new DynamoFillLeases(doc, table, clock), new DynamoFillLeases(doc, table, clock)];
    const key = `team/app@sha256:${crypto.randomUUID()}`;
    expect(await crashed.acquire(key, 60_000)).toBe(true);
    expect(await successor.acquire(key, 60_000)).toBe(false);
    now += 60_001;
    expect(await successor.acquire(key, 60_000)).toBe(true);
    await crashed.release(key);
    expect(await third.acquire(key, 60_000)).toBe(false);
    await successor.release(key);
    expect(await third.acquire(key, 60_000)).toBe(true);
  });
});

describe('DynamoCacheMarks', () => {
  it('remembers the tags the root mirror filled, across instances, and no others', async () => {
    const repository = `library/app-${crypto.randomUUID().slice(0, 8)}`;
    await new DynamoCacheMarks(doc, table).markFilled(`${repository}:1.0`);
    const other = new DynamoCacheMarks(doc, table);
    expect(await other.isFilled(`${repository}:1.0`)).toBe(true);
    expect(await other.isFilled(`${repository}:1.1`)).toBe(false);
    expect(await other.isFilled(`${repository}x:1.0`)).toBe(false);
  });
});

describe('DynamoCacheMarks check times', () => {
  it('keeps when a tag was last checked upstream, across instances, per tag, with a TTL a week on', async () => {
    const repository = `hub/app-${crypto.randomUUID().slice(0, 8)}`;
    const at = Date.UTC(2026, 5, 1, 12);
    await new DynamoCacheMarks(doc, table).markChecked(`${repository}:1.0`, at);
    const other = new DynamoCacheMarks(doc, table);
    expect(await other.checkedAt(`${repository}:1.0`)).toBe(at);
    expect(await other.checkedAt(`${repository}:1.1`)).toBeUndefined();
    // A check time is not a root-mirror mark: the two never stand for each other.
    expect(await other.isFilled(`${repository}:1.0`)).toBe(false);
    await other.markChecked(`${repository}:1.0`, at + 60_000);
    expect(await new DynamoCacheMarks(doc, table).checkedAt(`${repository}:1.0`)).toBe(at + 60_000);
    const item = await doc.send(new GetCommand({ TableName: table, Key: itemKeys.cacheCheckedTag(repository, '1.0') }));
    expect(item.Item?.[TTL_ATTRIBUTE]).toBe(Math.ceil((at + 60_000) / 1000) + 7 * 24 * 3600);
  });
});

describe('VaultCacheSecrets', () => {
  it('keeps one secret per rule, cache/<hex of the key>, as JSON, and deletes it', async () => {
    const vault = memorySecretVault();
    const secrets = new VaultCacheSecrets(vault);
    await secrets.put('ghcr/org', { username: 'me', password: 'p"w' });
    await secrets.put('_root', { username: 'hub', password: 'x' });
    expect(vault.names().sort()).toEqual([`cache/${Buffer.from('_root').toString('hex')}`, `cache/${Buffer.from('ghcr/org').toString('hex')}`]);
    expect(await secrets.get('ghcr/org')).toEqual({ username: 'me', password: 'p"w' });
    await secrets.delete('ghcr/org');
    expect(await secrets.get('ghcr/org')).toBeUndefined();
    expect(await secrets.get('_root')).toEqual({ username: 'hub', password: 'x' });
  });
});
