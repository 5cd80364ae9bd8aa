import { afterAll, beforeAll } from 'vitest';
import { createAwsStores, DynamoMetadataStore } from '../../functions/adapters/aws/index';
import { metadataDeferredContract } from '../contract/metadata-deferred.contract';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';

// Cached manifests (deferReferences) on DynamoDB Local: in the manifest's own transaction, and
// recorded in chunks of one before the manifest (the path of manifests with many references).
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

async function stores() {
  const { table, bucket } = await emulators.createResources();
  return { ...createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket }), table, bucket };
}

metadataDeferredContract('DynamoDB', async () => ({ store: (await stores()).metadata, cleanup: async () => {} }));

metadataDeferredContract('DynamoDB, references recorded in chunks', async () => {
  const { clients, table, bucket } = await stores();
  const store = new DynamoMetadataStore(clients.dynamodb, clients.s3, { table, bucket, references: { inline: 0, perTransaction: 1 } });
  return { store, cleanup: async () => {} };
});
