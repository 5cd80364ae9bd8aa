import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { s3Access } from '../../functions/adapters/aws/s3-access';

const client = { send: () => Promise.resolve({}) } as unknown as S3Client;

describe('s3Access', () => {
  it('creates the client once for concurrent first calls, and hands out the SDK with it', async () => {
    let created = 0;
    const access = s3Access(async () => {
      created++;
      return client;
    });
    const results = await Promise.all([access(), access(), access()]);
    expect(created).toBe(1);
    for (const { s3, sdk } of results) {
      expect(s3).toBe(client);
      expect(typeof sdk.PutObjectCommand).toBe('function');
    }
    await access();
    expect(created).toBe(1);
  });

  it('tries again after a failed creation instead of keeping the failure', async () => {
    let attempts = 0;
    const access = s3Access(async () => {
      attempts++;
      if (attempts === 1) throw new Error('no credentials yet');
      return client;
    });
    await expect(access()).rejects.toThrow('no credentials yet');
    await expect(access()).resolves.toMatchObject({ s3: client });
    expect(attempts).toBe(2);
  });

  it('takes a client that already exists', async () => {
    await expect(s3Access(client)()).resolves.toMatchObject({ s3: client });
  });
});
