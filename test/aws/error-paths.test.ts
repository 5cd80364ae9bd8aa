import {
  ConditionalCheckFailedException, DynamoDBClient, DynamoDBServiceException, InternalServerError, ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NoSuchUpload,
  S3Client, S3ServiceException, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoMetadataStore } from '../../functions/adapters/aws/dynamo-metadata-store';
import { S3BlobStore } from '../../functions/adapters/aws/s3-blob-store';
import {
  StoreConflictError, StoreNotFoundError, StoreThrottledError, StoreUnavailableError, createRegistry, type ManifestRecord, type UploadSession,
} from '../../functions/core/index';

// The failure paths of the AWS adapters, with the SDK mocked: every storage failure becomes
// a store error the core turns into a retryable 429/503 or a handled conflict, never a 500.

const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
const s3Error = (name: string, status: number) => new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', message: name, ...meta(status) });
const cancelled = (...codes: string[]) => new TransactionCanceledException({
  message: 'Transaction cancelled', ...meta(400), CancellationReasons: codes.map((Code) => ({ Code })),
});

const s3 = new S3Client({ region: 'us-east-1' });
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const s3Mock = mockClient(s3);
const dynamoMock = mockClient(doc);
const blobs = new S3BlobStore(s3, { bucket: 'b' });
const metadata = new DynamoMetadataStore(doc, s3, { table: 't', bucket: 'b' });
const ref = { id: 'u1', handle: JSON.stringify({ key: 'blobs/u1', uploadId: 'mpu-1' }) };
const part = (number: number, size: number) => ({ number, size, etag: `"${'a'.repeat(32)}" AAAAAA==` });

beforeEach(() => {
  s3Mock.reset();
  dynamoMock.reset();
});

describe('S3 blob store', () => {
  it('reports S3 throttling (SlowDown) as StoreThrottledError', async () => {
    s3Mock.on(UploadPartCommand).rejects(s3Error('SlowDown', 503));
    await expect(blobs.writePart(ref, { number: 1, offset: 0 }, new Uint8Array(10))).rejects.toBeInstanceOf(StoreThrottledError);
  });

  it('reports S3 5xx and network failures as StoreUnavailableError', async () => {
    s3Mock.on(UploadPartCommand).rejects(s3Error('InternalError', 500));
    await expect(blobs.writePart(ref, { number: 1, offset: 0 }, new Uint8Array(10))).rejects.toBeInstanceOf(StoreUnavailableError);
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(blobs.read('blobs/u1')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a missing object as StoreNotFoundError', async () => {
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', ...meta(404) }));
    await expect(blobs.getStaged(ref, 'u1.3')).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it('fails loudly, naming the part sizes, when S3 finds a part too small (EntityTooSmall)', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('EntityTooSmall', 400));
    const error = await blobs.completeUpload(ref, [part(1, 1000), part(2, 10)], 1010, 'sha256:x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(StoreConflictError);
    expect((error as Error).message).toMatch(/EntityTooSmall.*#1=1000 #2=10/);
  });

  it('sends each part with its ETag and CRC32 to CompleteMultipartUpload', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
    await blobs.completeUpload(ref, [part(2, 5), part(1, 6 * 1024 * 1024)], 6 * 1024 * 1024 + 5, 'sha256:x');
    const sent = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    expect(sent.MultipartUpload?.Parts).toEqual([
      { PartNumber: 1, ETag: `"${'a'.repeat(32)}"`, ChecksumCRC32: 'AAAAAA==' },
      { PartNumber: 2, ETag: `"${'a'.repeat(32)}"`, ChecksumCRC32: 'AAAAAA==' },
    ]);
  });

  it('treats a repeated completion as done when the object is already there', async () => {
    s3Mock.on(CompleteMultipartUploadCommand).rejects(new NoSuchUpload({ message: 'done already', ...meta(404) }));
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 6 });
    await expect(blobs.completeUpload(ref, [part(1, 6)], 6, 'sha256:x')).resolves.toBe('blobs/u1');
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 5 });
    await expect(blobs.completeUpload(ref, [part(1, 6)], 6, 'sha256:x')).rejects.toBeInstanceOf(StoreNotFoundError);
  });

  it('aborts the multipart upload and deletes its staged tails, also when S3 already forgot the upload', async () => {
    s3Mock.on(ListObjectsV2Command, { Prefix: 'staging/u1/' }).resolves({ Contents: [{ Key: 'staging/u1/u1.3' }, { Key: 'staging/u1/u1.4' }] });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    s3Mock.on(AbortMultipartUploadCommand).resolvesOnce({}).rejectsOnce(new NoSuchUpload({ message: 'gone', ...meta(404) }));
    await blobs.abortUpload(ref);
    await blobs.abortUpload(ref); // a repeated abort: NoSuchUpload is done, not a failure
    const aborted = s3Mock.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input);
    expect(aborted).toEqual([1, 2].map(() => ({ Bucket: 'b', Key: 'blobs/u1', UploadId: 'mpu-1' })));
    const deleted = s3Mock.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input.Delete?.Objects?.map((object) => object.Key));
    expect(deleted).toEqual([1, 2].map(() => ['staging/u1/u1.3', 'staging/u1/u1.4']));
  });

  it('reports an abort S3 failed as an error, instead of calling the upload gone', async () => {
    s3Mock.on(AbortMultipartUploadCommand).rejects(s3Error('InternalError', 500));
    await expect(blobs.abortUpload(ref)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('DynamoDB metadata store', () => {
  const noReferences = { blobs: [], manifests: [] };
  const manifest: ManifestRecord = { digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 2, body: new Uint8Array([123, 125]), createdAt: 1 };
  const session: UploadSession = {
    id: 'u1', repository: 'r', handle: ref.handle, offset: 0, parts: [], hashState: 's', hashAlgorithm: 'sha256', version: 1, createdAt: 1, updatedAt: 1, expiresAt: 2,
  };

  it('reports throttling as StoreThrottledError', async () => {
    dynamoMock.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) }));
    await expect(metadata.getBlob('sha256:x')).rejects.toBeInstanceOf(StoreThrottledError);
    dynamoMock.on(GetCommand).rejects(new DynamoDBServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'rate', ...meta(400) }));
    await expect(metadata.isBlobLinked('r', 'sha256:x')).rejects.toBeInstanceOf(StoreThrottledError);
  });

  it('reports a 5xx as StoreUnavailableError', async () => {
    dynamoMock.on(GetCommand).rejects(new InternalServerError({ message: 'oops', ...meta(500) }));
    await expect(metadata.getUpload('u1')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('turns a failed version check into StoreConflictError', async () => {
    dynamoMock.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'version', ...meta(400) }));
    await expect(metadata.updateUpload(session, 0)).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('returns the winner when another writer created the blob record first', async () => {
    const winner = { digest: 'sha256:x', size: 1, location: 'blobs/a', createdAt: 1 };
    // The record is created with its garbage-collection review, in one transaction: the record's condition fails.
    dynamoMock.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None'));
    dynamoMock.on(GetCommand).resolves({ Item: { ...winner, pk: 'BLOB#sha256:x', sk: 'BLOB' } });
    await expect(metadata.putBlob({ ...winner, location: 'blobs/b' })).resolves.toEqual({ record: winner, created: false });
  });

  it('retries a transaction that lost a race, re-reading what it depends on', async () => {
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(PutCommand).resolves({});
    dynamoMock.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'ConditionalCheckFailed')).resolves({});
    await metadata.putManifest('r', manifest, noReferences, 'latest');
    expect(dynamoMock.commandCalls(TransactWriteCommand)).toHaveLength(2);
    expect(dynamoMock.commandCalls(GetCommand)).toHaveLength(4); // the manifest and the tag, read again
  });

  it('gives up on a transaction that keeps losing with StoreConflictError', async () => {
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(PutCommand).resolves({});
    dynamoMock.on(TransactWriteCommand).rejects(cancelled('TransactionConflict'));
    await expect(metadata.putManifest('r', manifest, noReferences, 'latest')).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('reports a transaction cancelled by throttling as StoreThrottledError, and one cancelled by a bad request as an error', async () => {
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(PutCommand).resolves({});
    dynamoMock.on(TransactWriteCommand).rejects(cancelled('None', 'ThrottlingError'));
    await expect(metadata.putManifest('r', manifest, noReferences)).rejects.toBeInstanceOf(StoreThrottledError);
    dynamoMock.on(TransactWriteCommand).rejects(cancelled('ValidationError'));
    const error = await metadata.putManifest('r', manifest, noReferences).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionCanceledException);
  });
});

describe('through the API', () => {
  const registry = createRegistry({ blobs, metadata, config: { uploadSecret: new Uint8Array(32).fill(1) } });
  const blobUrl = `http://registry.test/v2/r/blobs/sha256:${'c'.repeat(64)}`;

  it('answers DynamoDB throttling with 429 TOOMANYREQUESTS and Retry-After', async () => {
    dynamoMock.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) }));
    const response = await registry.fetch(new Request(blobUrl));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ errors: [{ code: 'TOOMANYREQUESTS' }] });
  });

  it('answers an S3 5xx with 503 UNAVAILABLE', async () => {
    s3Mock.rejects(s3Error('InternalError', 500));
    const response = await registry.fetch(new Request('http://registry.test/v2/r/blobs/uploads/', { method: 'POST' }));
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ errors: [{ code: 'UNAVAILABLE' }] });
  });
});
