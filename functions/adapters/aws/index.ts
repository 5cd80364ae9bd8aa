import { awsClients, type AwsClientOptions, type AwsClients } from './clients';
import { DynamoMetadataStore } from './dynamo-metadata-store';
import { DynamoPolicyStore } from './dynamo-policy-store';
import { DynamoGcStore } from './gc-store';
import { S3BlobStore } from './s3-blob-store';

export interface AwsStoresOptions extends AwsClientOptions {
  /** Bucket for blobs, staged tails and large manifest bodies. */
  readonly bucket: string;
  /** The single table (schema: table-schema.ts). */
  readonly table: string;
  /** Part size for S3 multipart uploads. @default 16 MiB */
  readonly partSize?: number;
}

export interface AwsStores {
  readonly blobs: S3BlobStore;
  readonly metadata: DynamoMetadataStore;
  /** Retention and immutability documents (items POLICY/<kind>). */
  readonly policies: DynamoPolicyStore;
  /** Online garbage collection (review queue GC#…, data-layout.ts): what the scheduled GC function and `nimbus gc` run. */
  readonly gc: DynamoGcStore;
  /** The shared SDK clients, e.g. for health checks or test instrumentation. */
  readonly clients: AwsClients;
}

/**
 * The registry's stores on S3 and DynamoDB. Call it at module scope in a Lambda: the
 * SDK clients are created once per configuration and keep their connections warm.
 */
export function createAwsStores(options: AwsStoresOptions): AwsStores {
  const clients = awsClients(options);
  return {
    blobs: new S3BlobStore(clients.s3, { bucket: options.bucket, presigner: clients.s3Presigner, ...(options.partSize ? { partSize: options.partSize } : {}) }),
    metadata: new DynamoMetadataStore(clients.dynamodb, clients.s3, { table: options.table, bucket: options.bucket }),
    policies: new DynamoPolicyStore(clients.dynamodb, options.table),
    gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table: options.table, bucket: options.bucket }),
    clients,
  };
}

export { S3BlobStore, S3_MAX_PARTS, S3_MIN_PART_SIZE } from './s3-blob-store';
export { DynamoMetadataStore } from './dynamo-metadata-store';
export { DynamoPolicyStore } from './dynamo-policy-store';
export { awsClients, type AwsClientOptions, type AwsClients } from './clients';
export * from './table-schema';
export { DynamoGcStore, type DynamoGcStoreOptions } from './gc-store';
