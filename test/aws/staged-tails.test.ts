import { AbortMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../functions/adapters/aws/s3-blob-store';

// Staged tails this process wrote are folded into the next part without a GetObject; every
// other read, and every read after the tail was deleted or pushed out, goes to S3.

const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
const ref = (id: string) => ({ id, handle: JSON.stringify({ key: `blobs/${id}`, uploadId: `mpu-${id}` }) });
const fromS3 = Uint8Array.of(9, 9, 9);

beforeEach(() => {
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
  s3Mock.on(DeleteObjectCommand).resolves({});
  s3Mock.on(AbortMultipartUploadCommand).resolves({});
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: [] });
  s3Mock.on(DeleteObjectsCommand).resolves({});
  // What getStaged uses of a GetObject body.
  s3Mock.on(GetObjectCommand).callsFake(() => ({ Body: { transformToByteArray: async () => fromS3 } as never }));
});

const gets = () => s3Mock.commandCalls(GetObjectCommand).length;

describe('S3 blob store: staged tails written here', () => {
  it('hands back the tail it just staged without reading S3, and reads S3 for any other', async () => {
    const blobs = new S3BlobStore(s3, { bucket: 'b' });
    const tail = Uint8Array.of(1, 2, 3, 4);
    await blobs.putStaged(ref('u1'), 'u1.1', tail);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(await blobs.getStaged(ref('u1'), 'u1.1')).toEqual(tail);
    expect(gets()).toBe(0);
    // Another name, another upload, another store (another container): S3.
    expect(await blobs.getStaged(ref('u1'), 'u1.2')).toEqual(fromS3);
    expect(await blobs.getStaged(ref('u2'), 'u1.1')).toEqual(fromS3);
    expect(await new S3BlobStore(s3, { bucket: 'b' }).getStaged(ref('u1'), 'u1.1')).toEqual(fromS3);
    expect(gets()).toBe(3);
  });

  it('keeps nothing when S3 refused the tail', async () => {
    const blobs = new S3BlobStore(s3, { bucket: 'b' });
    s3Mock.on(PutObjectCommand).rejects(new Error('socket hang up'));
    await expect(blobs.putStaged(ref('u1'), 'u1.1', Uint8Array.of(1))).rejects.toThrow();
    expect(await blobs.getStaged(ref('u1'), 'u1.1')).toEqual(fromS3);
  });

  it('forgets a tail once it is deleted or its upload aborted, and keeps only the last two', async () => {
    const blobs = new S3BlobStore(s3, { bucket: 'b' });
    await blobs.putStaged(ref('u1'), 'u1.1', Uint8Array.of(1));
    await blobs.deleteStaged(ref('u1'), 'u1.1');
    expect(await blobs.getStaged(ref('u1'), 'u1.1')).toEqual(fromS3);

    await blobs.putStaged(ref('u2'), 'u2.1', Uint8Array.of(2));
    await blobs.abortUpload(ref('u2'));
    expect(await blobs.getStaged(ref('u2'), 'u2.1')).toEqual(fromS3);

    for (const id of ['a', 'b', 'c']) await blobs.putStaged(ref(id), `${id}.1`, Uint8Array.of(7));
    const before = gets();
    await blobs.getStaged(ref('b'), 'b.1');
    await blobs.getStaged(ref('c'), 'c.1');
    expect(gets()).toBe(before);
    await blobs.getStaged(ref('a'), 'a.1');
    expect(gets()).toBe(before + 1);
  });
});
