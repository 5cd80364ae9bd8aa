import { CreateTableCommand, DynamoDBClient, ResourceInUseException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createTableInput, timeToLiveInput } from '../adapters/aws/table-schema';

export interface EmulatorEndpoints {
  readonly s3: string;
  readonly dynamodb: string;
}

const credentials = { accessKeyId: 'emulator', secretAccessKey: 'emulator' };

/**
 * Creates the table and bucket in the emulators if they are missing, from the same
 * schema module the CDK stack builds them from. Safe to repeat.
 */
export async function ensureResources(region: string, endpoints: EmulatorEndpoints, names: { table: string; bucket: string }): Promise<void> {
  const dynamodb = new DynamoDBClient({ region, endpoint: endpoints.dynamodb, credentials });
  const s3 = new S3Client({ region, endpoint: endpoints.s3, credentials, forcePathStyle: true });
  try {
    try {
      await dynamodb.send(new CreateTableCommand(createTableInput(names.table)));
      await dynamodb.send(new UpdateTimeToLiveCommand(timeToLiveInput(names.table)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    try {
      await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
}
