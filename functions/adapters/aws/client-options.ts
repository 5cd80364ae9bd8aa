import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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

export const EMULATOR_CREDENTIALS = { accessKeyId: 'emulator', secretAccessKey: 'emulator' };

/** One key per configuration: a Lambda container builds each client once and reuses its connections. */
export function configurationKey(options: AwsClientOptions): string {
  return JSON.stringify([options.region, options.endpoints?.s3, options.endpoints?.dynamodb, options.emulator, options.maxAttempts]);
}

/**
 * Settings every client shares. Credentials come from the default provider chain (the Lambda
 * role) unless `emulator` is set; "standard" retries back off with jitter and also retry
 * throttling, 5xx and network errors.
 */
export function commonConfig(options: AwsClientOptions) {
  return {
    ...(options.region ? { region: options.region } : {}),
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.emulator ? { credentials: EMULATOR_CREDENTIALS } : {}),
  } as const;
}

const documentClients = new Map<string, DynamoDBDocumentClient>();

/** The DynamoDB document client for a configuration, built once. */
export function documentClient(options: AwsClientOptions): DynamoDBDocumentClient {
  const key = configurationKey(options);
  let client = documentClients.get(key);
  if (!client) {
    const config: DynamoDBClientConfig = {
      ...commonConfig(options),
      requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
      ...(options.endpoints?.dynamodb ? { endpoint: options.endpoints.dynamodb } : {}),
    };
    client = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
    documentClients.set(key, client);
  }
  return client;
}
