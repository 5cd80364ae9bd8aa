import { afterAll, beforeAll } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { policyContract } from '../contract/policy.contract';

// The retention and immutability contract against DynamoDB Local (and fauxqs for S3).
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

policyContract('DynamoDB', async () => {
  const { table, bucket } = await emulators.createResources();
  const aws = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
  return { store: aws.metadata, blobs: aws.blobs, policies: aws.policies, cleanup: async () => {} };
});
