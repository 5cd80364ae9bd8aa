import { randomBytes } from 'node:crypto';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { awsClients } from '../../functions/adapters/aws/clients';
import type { AwsEmulators } from '../../functions/dev/emulators';
import { Limiter } from '../../cli/push/concurrency';

/**
 * The S3 emulator's own multipart throughput for `size` bytes: CreateMultipartUpload,
 * UploadPart of `partSize` bytes (`parallel` at a time), CompleteMultipartUpload, with the
 * SDK client the adapters use against the emulators. Every part carries the same random
 * bytes, so the client does no work beyond sending them. Returns the wall time in ms; the
 * object is deleted afterwards (not timed).
 */
export async function timeRawMultipart(emulators: AwsEmulators, bucket: string, size: number, partSize: number, parallel: number): Promise<number> {
  const { s3 } = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true });
  const part = randomBytes(partSize);
  const key = `raw/${randomBytes(6).toString('hex')}`;
  const limiter = new Limiter(parallel);
  const started = performance.now();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  try {
    const count = Math.ceil(size / partSize);
    const parts = await Promise.all(Array.from({ length: count }, (_, index) => limiter.run(async () => {
      const length = Math.min(partSize, size - index * partSize);
      const answer = await s3.send(new UploadPartCommand({
        Bucket: bucket, Key: key, UploadId, PartNumber: index + 1, Body: part.subarray(0, length), ContentLength: length,
      }));
      return { PartNumber: index + 1, ETag: answer.ETag! };
    })));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw error;
  }
  const ms = performance.now() - started;
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return ms;
}
