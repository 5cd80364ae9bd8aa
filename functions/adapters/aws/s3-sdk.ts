/**
 * Everything the adapters use of the S3 SDK, in one module that s3-access.ts loads with
 * `await import()`: the registry function's cold start (GET /v2/, a login, a tag list)
 * parses none of the S3 client, its command schemas or its presigner.
 */
export {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command,
  PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
export { getSignedUrl } from '@aws-sdk/s3-request-presigner';
