import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface AwsClientOptions {
  /** @default the SDK's default chain (AWS_REGION in Lambda) */
  readonly region?: string;
  /** Endpoint overrides, for emulators. @default AWS (or AWS_ENDPOINT_URL_S3 / _DYNAMODB) */
  readonly endpoints?: { readonly s3?: string; readonly dynamodb?: string };
  /**
   * Settings only local emulators need: path-style S3 URLs, checksums only when an
   * operation requires them, and dummy credentials. Never set in production.
   */
  readonly emulator?: boolean;
  /** Attempts per call, retried with exponential backoff and full jitter. @default 3 */
  readonly maxAttempts?: number;
}

export interface AwsClients {
  readonly s3: S3Client;
  /**
   * For presigning uploads only. With the SDK's default (checksums "when supported") a
   * presigned UploadPart URL bakes in the CRC32 of an empty body, and S3 rejects the part.
   */
  readonly s3Presigner: S3Client;
  readonly dynamodb: DynamoDBDocumentClient;
}

const EMULATOR_CREDENTIALS = { accessKeyId: 'emulator', secretAccessKey: 'emulator' };

/** Clients by configuration: a Lambda container builds each client once and reuses its connections. */
const cache = new Map<string, AwsClients>();

/**
 * The SDK clients the adapters share. Credentials come from the default provider chain
 * (the Lambda role) unless `emulator` is set; "standard" retries back off with jitter
 * and also retry throttling, 5xx and network errors.
 */
export function awsClients(options: AwsClientOptions = {}): AwsClients {
  const cacheKey = JSON.stringify([options.region, options.endpoints?.s3, options.endpoints?.dynamodb, options.emulator, options.maxAttempts]);
  let clients = cache.get(cacheKey);
  if (!clients) {
    clients = {
      s3: createS3Client(options),
      s3Presigner: createS3Client(options, { requestChecksumCalculation: 'WHEN_REQUIRED' }),
      dynamodb: createDocumentClient(options),
    };
    cache.set(cacheKey, clients);
  }
  return clients;
}

function common(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.emulator ? { credentials: EMULATOR_CREDENTIALS } : {}),
  } as const;
}

function createS3Client(options: AwsClientOptions, overrides: Partial<S3ClientConfig> = {}): S3Client {
  const config: S3ClientConfig = {
    ...common(options),
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

function createDocumentClient(options: AwsClientOptions): DynamoDBDocumentClient {
  const config: DynamoDBClientConfig = {
    ...common(options),
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
    ...(options.endpoints?.dynamodb ? { endpoint: options.endpoints.dynamodb } : {}),
  };
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
