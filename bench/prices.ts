/**
 * Public AWS list prices the cost model multiplies by: us-east-1, on-demand, USD, as listed
 * on the AWS pricing pages (Lambda, API Gateway, S3, DynamoDB, Secrets Manager, CloudWatch,
 * data transfer) in 2025. The one place to change them for another region or a new price.
 */
export const PRICES = {
  /** Lambda, arm64: per GB-second of duration (first 6 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda: per request. */
  lambdaRequest: 0.20 / 1e6,
  /** API Gateway HTTP API: per request (first 300 million a month), metered in 512 KB increments. */
  apiGatewayHttpRequest: 1.00 / 1e6,
  apiGatewayMeteringBytes: 512 * 1024,
  /** S3 Standard: PUT, COPY, POST, LIST requests (UploadPart, Create/CompleteMultipartUpload included). */
  s3PutClassRequest: 0.005 / 1000,
  /** S3 Standard: GET, SELECT and all other requests (HEAD included). DELETE and abort are free. */
  s3GetClassRequest: 0.0004 / 1000,
  /** S3 Standard storage, per GB-month (first 50 TB). */
  s3StorageGbMonth: 0.023,
  /** DynamoDB on-demand: per write request unit and per read request unit. */
  dynamodbWriteUnit: 0.625 / 1e6,
  dynamodbReadUnit: 0.125 / 1e6,
  /** DynamoDB Standard table storage, per GB-month (first 25 GB free). */
  dynamodbStorageGbMonth: 0.25,
  /** Secrets Manager: per secret per month, and per 10,000 API calls. */
  secretMonth: 0.40,
  secretsApiCall: 0.05 / 10_000,
  /** CloudWatch Logs: ingestion per GB (standard class). */
  logsIngestGb: 0.50,
  /** Data transfer out of AWS to the internet, per GB (first 10 TB a month; the first 100 GB a month are free). */
  transferOutGb: 0.09,
} as const;

/** Lambda memory the stack configures (infra: nimbus:memorySize, default 1024 MB). */
export const LAMBDA_MEMORY_GB = 1;

/** S3 commands billed as PUT-class; every other command but DELETE and abort is GET-class. */
export const S3_PUT_CLASS = new Set(['PutObject', 'UploadPart', 'CreateMultipartUpload', 'CompleteMultipartUpload', 'CopyObject', 'UploadPartCopy', 'ListObjectsV2', 'ListParts']);
export const S3_FREE = new Set(['DeleteObject', 'DeleteObjects', 'AbortMultipartUpload']);
