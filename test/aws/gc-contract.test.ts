import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { awsClients, DynamoGcStore, DynamoMetadataStore, S3BlobStore } from '../../functions/adapters/aws/index';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { describeGcContract, manualClock } from '../contract/gc.contract';

// The GC contract on DynamoDB Local and the S3 emulator.
let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());

describeGcContract('DynamoDB and S3', async () => {
  const { table, bucket } = await emulators.createResources();
  const clock = manualClock();
  const clients = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true });
  const metadata = new DynamoMetadataStore(clients.dynamodb, clients.s3, { table, bucket, now: clock.now });
  // Where each digest's bytes were stored (blobs/<upload id>): after collection no record names them.
  const stored = new Map<string, Set<string>>();
  const putBlob = metadata.putBlob.bind(metadata);
  metadata.putBlob = async (record) => {
    const result = await putBlob(record);
    if (result.created) stored.set(record.digest, (stored.get(record.digest) ?? new Set()).add(record.location));
    return result;
  };
  const exists = (key: string) => clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false);
  return {
    gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table, bucket, now: clock.now }),
    metadata,
    blobs: new S3BlobStore(clients.s3, { bucket, presigner: clients.s3Presigner }),
    clock,
    bytesExist: async (digest) => (await Promise.all([...(stored.get(digest) ?? [])].map(exists))).some(Boolean),
    cleanup: async () => {},
  };
});
