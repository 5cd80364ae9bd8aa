import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { runGc } from '../../functions/core/gc/runner';
import { GcTestClient } from '../support/gc-images';
import { stressGc } from '../support/gc-stress';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

// Issue 12's stress run on the AWS stores: pushes and deletes through dev:aws (API Gateway and
// Lambda on DynamoDB Local and the S3 emulator) while passes run as the scheduled GC function
// runs them (runGc on the same stores, zero safety window), for 60 s; nothing kept is lost.
const RUN_MS = 60_000;

let registry: RunningDevAws;

beforeAll(async () => {
  registry = await devAwsTarget({ uploadEndpoint: false }).start();
}, 180_000);
afterAll(async () => registry?.stop(), 60_000);

it('loses nothing pushed and kept while pushes, deletes and collections run together for 60 s', { timeout: 3 * RUN_MS + 180_000 }, async () => {
  const auth = authHeaders(registry);
  const client = new GcTestClient(async (request) => {
    const headers = new Headers(request.headers);
    for (const [name, value] of Object.entries(auth)) headers.set(name, value);
    return fetch(new Request(request, { headers, duplex: 'half' } as RequestInit));
  }, registry.url);
  const stores = createAwsStores({
    table: registry.table, bucket: registry.bucket, region: 'us-east-1', emulator: true,
    endpoints: { dynamodb: registry.dynamodbEndpoint, s3: registry.s3Endpoint },
  });
  await stressGc({
    client,
    async gcPass(full) {
      const report = await runGc({ gc: stores.gc, metadata: stores.metadata, clock: { now: () => Date.now() } }, { minAgeMs: 0, full });
      expect(report.complete).toBe(true);
      return report.blobsDeleted;
    },
    async expectStoredExactly(digests) {
      // Blob bytes live at blobs/<upload id>: the bucket holds exactly the kept records' objects.
      const listed = await stores.clients.s3.send(new ListObjectsV2Command({ Bucket: registry.bucket, Prefix: 'blobs/' }));
      expect(listed.IsTruncated).not.toBe(true);
      const locations = await Promise.all(digests.map(async (digest) => (await stores.metadata.getBlob(digest))?.location));
      expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual(locations.sort());
    },
  }, RUN_MS);
});
