import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoAttemptCounter, DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { authHarness } from './harness';
import { identityStoreContract } from './identity-store.contract';
import { unholdableLoginNamesSuite } from './usernames.suite';

let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(() => emulators?.stop());

async function table(): Promise<{ store: DynamoIdentityStore; counter: DynamoAttemptCounter }> {
  const { table } = await emulators.createResources();
  const { dynamodb } = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true });
  return { store: new DynamoIdentityStore(dynamodb, table), counter: new DynamoAttemptCounter(dynamodb, table) };
}

identityStoreContract('DynamoDB', async () => (await table()).store);

unholdableLoginNamesSuite('DynamoDB', async () => {
  const { store, counter } = await table();
  return authHarness({ store, attempts: counter });
});

describe('DynamoDB failed-login counter', () => {
  it('counts per key and window, and resets', async () => {
    const { counter } = await table();
    expect(await counter.count('principal:alice', 7)).toBe(0);
    expect(await counter.increment('principal:alice', 7, 2_400)).toBe(1);
    expect(await counter.increment('principal:alice', 7, 2_400)).toBe(2);
    expect(await counter.count('principal:alice', 8)).toBe(0);
    expect(await counter.count('principal:bob', 7)).toBe(0);
    await counter.reset('principal:alice', 7);
    expect(await counter.count('principal:alice', 7)).toBe(0);
  });
});
