import { S3Client, type S3ClientConfig, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BuildMiddleware } from '@aws-sdk/types';
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
    // The SDK's default (Expect: 100-continue from 2 MiB) sends each such body on a new
    // connection of its own, never kept alive: a TCP and TLS handshake for every part and
    // staged tail. Without it they reuse the pooled connections; S3 still answers an error
    // (after reading the body) and the SDK retries it.
    expectContinueHeader: false,
    ...(options.endpoints?.s3 ? { endpoint: options.endpoints.s3 } : {}),
  };
  if (options.emulator) {
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const client = new S3Client(config);
  client.middlewareStack.add(unsignedWhenChecksummed, UNSIGNED_WHEN_CHECKSUMMED);
  return client;
}

/** SigV4's header for the payload's SHA-256, and the value that leaves the payload out of the signature. */
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const CHECKSUM_HEADER_PREFIX = 'x-amz-checksum-';

/** After the flexible-checksums middleware (build step) has set the checksum header, before signing (finalizeRequest). */
const UNSIGNED_WHEN_CHECKSUMMED = { step: 'build', priority: 'low', name: 'nimbusUnsignedWhenChecksummed' } as const;

/**
 * A request body that carries an x-amz-checksum-* header (parts and staged tails: CRC32) is
 * signed with UNSIGNED-PAYLOAD instead of its SHA-256. S3 checks the body against that
 * checksum, and the header itself is signed, so the body is still verified on arrival;
 * without this the signer hashes every byte a second time (SHA-256 of 4–16 MiB per call),
 * whatever the transport. The SDK does the same for streamed bodies
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER); TLS protects the bytes in transit.
 */
const unsignedWhenChecksummed: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => {
  return (args) => {
    const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
    if (headers && !(PAYLOAD_HASH_HEADER in headers) && Object.keys(headers).some((name) => name.toLowerCase().startsWith(CHECKSUM_HEADER_PREFIX))) {
      headers[PAYLOAD_HASH_HEADER] = UNSIGNED_PAYLOAD;
    }
    return next(args);
  };
};
