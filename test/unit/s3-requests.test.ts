import { createHash } from 'node:crypto';
import { crc32 as computeCrc32 } from 'node:zlib';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsClients } from '../../functions/adapters/aws/clients';


/** What the S3 client sends, captured by a stand-in that answers every request with an empty 200. */
interface Captured {
  method: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
}

const captured: Captured[] = [];
let connections = 0;
const server = createServer((request, response) => {
  let bodyBytes = 0;
  request.on('data', (chunk: Buffer) => (bodyBytes += chunk.byteLength));
  request.on('end', () => {
    captured.push({ method: request.method ?? '', headers: request.headers, bodyBytes });
    response.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef"', 'x-amz-checksum-crc32': 'AAAAAA==', 'content-length': '0' });
    response.end();
  });
});
server.on('connection', () => connections++);
let endpoint = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function client() {
  return awsClients({ region: 'us-east-1', endpoints: { s3: endpoint }, emulator: true, maxAttempts: 1 }).s3;
}

async function send(call: (s3: S3Client) => Promise<unknown>): Promise<Captured> {
  captured.length = 0;
  await call(client());
  expect(captured).toHaveLength(1);
  return captured[0]!;
}

function signedHeaders(headers: IncomingHttpHeaders): string[] {
  return /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1]?.split(';') ?? [];
}

describe('S3 requests of the blob store', () => {
  const body = new Uint8Array(64 * 1024).fill(7);
  const crc32 = Buffer.alloc(4);
  crc32.writeUInt32BE(computeCrc32(body));

  it('signs a part that carries a CRC32 with UNSIGNED-PAYLOAD, the CRC32 header among the signed ones', async () => {
    const part = await send((s3) => s3.send(new UploadPartCommand({ Bucket: 'b', Key: 'blobs/x', UploadId: 'u', PartNumber: 1, Body: body, ContentLength: body.byteLength, ChecksumAlgorithm: 'CRC32' })));
    expect(part.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(part.headers['x-amz-checksum-crc32']).toBe(crc32.toString('base64'));
    expect(signedHeaders(part.headers)).toEqual(expect.arrayContaining(['x-amz-checksum-crc32', 'x-amz-content-sha256']));
    expect(part.bodyBytes).toBe(body.byteLength);

    const staged = await send((s3) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'staging/x', Body: body, ContentLength: body.byteLength, ChecksumAlgorithm: 'CRC32' })));
    expect(staged.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(staged.headers['x-amz-checksum-crc32']).toBe(crc32.toString('base64'));
  });

  it('keeps the SHA-256 of the payload in the signature when no checksum covers the body', async () => {
    const put = await send((s3) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'plain', Body: body, ContentLength: body.byteLength })));
    expect(put.headers['x-amz-checksum-crc32']).toBeUndefined();
    expect(put.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));

    const get = await send((s3) => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'plain' })));
    expect(get.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('sends multi-MiB bodies on the pooled connections, without waiting for 100 Continue', async () => {
    const large = new Uint8Array(3 * 1024 * 1024).fill(9);
    await send((s3) => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'warm', Body: large, ContentLength: large.byteLength, ChecksumAlgorithm: 'CRC32' })));
    const before = connections;
    for (let part = 1; part <= 3; part++) {
      const sent = await send((s3) => s3.send(new UploadPartCommand({ Bucket: 'b', Key: 'blobs/x', UploadId: 'u', PartNumber: part, Body: large, ContentLength: large.byteLength, ChecksumAlgorithm: 'CRC32' })));
      expect(sent.headers.expect).toBeUndefined();
      expect(sent.bodyBytes).toBe(large.byteLength);
    }
    expect(connections - before).toBe(0);
  });
});
