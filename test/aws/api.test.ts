import { afterAll, beforeAll } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { createRegistry } from '../../functions/core/index';
import { defineRegistryApiSuite } from '../api/suite';
import { defineBrowseSuite } from '../api/suites/browse';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';

// The shared Distribution API suite over S3 (fauxqs) and DynamoDB (DynamoDB Local), with
// the portable hash-wasm hashing the Lambda uses. Bytes are served through the registry
// here (the suite expects 200s); redirects to presigned URLs are tested in uploads.test.ts.
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

defineRegistryApiSuite({
  name: 'S3 + DynamoDB stores',
  async create() {
    const { table, bucket } = await emulators.createResources();
    const { blobs, metadata } = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
    let skew = 0;
    const registry = createRegistry({
      blobs, metadata, clock: { now: () => Date.now() + skew },
      config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 0 },
    });
    return { fetch: registry.fetch, advanceClock: (ms) => (skew += ms), cleanup: async () => {} };
  },
});

// The browse UI's read routes on the same emulators, with blob GETs redirecting to S3 as on the
// Lambda: summaries read image configs through the store, never through a redirect.
defineBrowseSuite('S3 + DynamoDB stores', async () => {
  const { table, bucket } = await emulators.createResources();
  const { blobs, metadata, policies } = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
  const registry = createRegistry({ blobs, metadata, inventory: metadata, policies, config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 60 } });
  return { fetch: registry.fetch, cleanup: async () => {} };
});
