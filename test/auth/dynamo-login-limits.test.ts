import { afterAll, beforeAll } from 'vitest';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoAttemptCounter } from '../../functions/adapters/aws/dynamo-identity-store';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { loginLimitsSuite } from './login-limits.suite';

let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(() => emulators?.stop());

// Counts in the table, shared by every Lambda instance: each test gets a table of its own.
loginLimitsSuite('DynamoDB', async () => {
  const { table } = await emulators.createResources();
  const { dynamodb } = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true });
  return new DynamoAttemptCounter(dynamodb, table);
});
