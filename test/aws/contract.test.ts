import { afterAll, beforeAll } from 'vitest';
import { createAwsStores, DynamoMetadataStore } from '../../functions/adapters/aws/index';
import { blobStoreContract } from '../contract/blob-store.contract';
import { metadataDeferredContract } from '../contract/metadata-deferred.contract';
import { metadataStoreContract } from '../contract/metadata-store.contract';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';

// The shared contract suites, run against S3 (fauxqs) and DynamoDB (DynamoDB Local), including
// cached manifests whose blobs are filled later (deferReferences).
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

async function stores() {
  const { table, bucket } = await emulators.createResources();
  const aws = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
  return { ...aws, table, bucket };
}

blobStoreContract('S3', async () => ({ store: (await stores()).blobs, capabilities: { readsUploads: false, presigns: true }, cleanup: async () => {} }));

metadataStoreContract('DynamoDB', async () => ({ store: (await stores()).metadata, cleanup: async () => {} }));

// Every manifest's references recorded in chunks of one, before the manifest: the path a
// manifest with more references than one transaction holds takes, raced like the rest.
async function chunkedStore() {
  const { clients, table, bucket } = await stores();
  return new DynamoMetadataStore(clients.dynamodb, clients.s3, { table, bucket, references: { inline: 0, perTransaction: 1 } });
}
metadataStoreContract('DynamoDB, references recorded in chunks', async () => ({ store: await chunkedStore(), cleanup: async () => {} }));

metadataDeferredContract('DynamoDB', async () => ({ store: (await stores()).metadata, cleanup: async () => {} }));
metadataDeferredContract('DynamoDB, references recorded in chunks', async () => ({ store: await chunkedStore(), cleanup: async () => {} }));
