import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { documentClient } from './client-options';
import { DynamoMetadataStore } from './dynamo-metadata-store';
import { DynamoPolicyStore } from './dynamo-policy-store';
import type { AwsStores, AwsStoresOptions } from './index';
import { S3BlobStore } from './s3-blob-store';

/** The stores of createAwsStores, with S3 clients that exist only once a call needs them. */
export interface LazyAwsStores extends Pick<AwsStores, 'blobs' | 'metadata' | 'policies'> {
  readonly clients: {
    readonly dynamodb: DynamoDBDocumentClient;
    /** The S3 client, created (with the S3 SDK loaded) on first use; the one awsClients() returns. */
    readonly s3: () => Promise<S3Client>;
  };
}

/**
 * The registry function's stores. The DynamoDB client is built at once; the S3 SDK (client,
 * command schemas, presigner: about a third of the bundle) loads with the first request that
 * touches S3, so a cold start that serves GET /v2/, a login or a tag list never parses it.
 * The clients are those of awsClients() for the same options (one set per container).
 */
export function createLazyAwsStores(options: AwsStoresOptions): LazyAwsStores {
  const s3 = () => import('./clients').then(({ awsClients }) => awsClients(options).s3);
  const s3Presigner = () => import('./clients').then(({ awsClients }) => awsClients(options).s3Presigner);
  const dynamodb = documentClient(options);
  return {
    blobs: new S3BlobStore(s3, { bucket: options.bucket, presigner: s3Presigner, ...(options.partSize ? { partSize: options.partSize } : {}) }),
    metadata: new DynamoMetadataStore(dynamodb, s3, { table: options.table, bucket: options.bucket }),
    policies: new DynamoPolicyStore(dynamodb, options.table),
    clients: { dynamodb, s3 },
  };
}
