import { afterAll, beforeAll } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { blobStoreContract } from '../contract/blob-store.contract';
import { metadataStoreContract } from '../contract/metadata-store.contract';
import { startAwsEmulators, type AwsEmulators } from '../support/emulators';

// The shared contract suites, run against S3 (fauxqs) and DynamoDB (DynamoDB Local).
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

async function stores() {
  const { table, bucket } = await emulators.createResources();
  return createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
}

blobStoreContract('S3', async () => ({ store: (await stores()).blobs, cleanup: async () => {} }));

metadataStoreContract('DynamoDB', async () => ({ store: (await stores()).metadata, cleanup: async () => {} }));
