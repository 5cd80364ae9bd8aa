import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { commonConfig, configurationKey, documentClient, type AwsClientOptions } from './client-options';

export type { AwsClientOptions } from './client-options';

export interface AwsClients {
  readonly s3: S3Client;
  /**
   * For presigning uploads only. With the SDK's default (checksums "when supported") a
   * presigned UploadPart URL bakes in the CRC32 of an empty body, and S3 rejects the part.
   */
  readonly s3Presigner: S3Client;
  readonly dynamodb: DynamoDBDocumentClient;
}

/** Clients by configuration: a Lambda container builds each client once and reuses its connections. */
const cache = new Map<string, AwsClients>();

/**
 * The SDK clients the adapters share (client-options.ts: retries, credentials, emulators).
 * lazy-stores.ts loads this module on first use, so the clients it hands out are these.
 */
export function awsClients(options: AwsClientOptions = {}): AwsClients {
  const cacheKey = configurationKey(options);
  let clients = cache.get(cacheKey);
  if (!clients) {
    clients = {
      s3: createS3Client(options),
      s3Presigner: createS3Client(options, { requestChecksumCalculation: 'WHEN_REQUIRED' }),
      dynamodb: documentClient(options),
    };
    cache.set(cacheKey, clients);
  }
  return clients;
}

function createS3Client(options: AwsClientOptions, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const config: S3ClientConfig = {
    ...commonConfig(options),
    ...overrides,
    // Parts are ≤ 16 MiB: a socket idle this long is dead, and the retry gets a new one.
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000 },
    ...(options.endpoints?.s3 ? { endpoint: options.endpoints.s3 } : {}),
  };
  if (options.emulator) {
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(config);
}
