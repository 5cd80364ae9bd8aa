import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { gcEventOf } from '../../functions/lambda/gc-pass';
import { RegistryClient, rand, sha256, uniqueRepo } from '../api/client';
import { awsRegistry } from './fixture';

let emulators: AwsEmulators;
beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await emulators?.stop();
});

describe('GC Lambda entry', () => {
  it('runs the schedule\'s retention, then a pass on the table and bucket it is given, and writes one EMF line', async () => {
    const fixture = await awsRegistry(emulators);
    const client = new RegistryClient(fixture.registry.fetch);
    const repository = uniqueRepo('gc-entry');
    const bytes = rand(321);
    await client.pushBlob(repository, bytes); // linked, and no manifest uses it
    const kept = uniqueRepo('gc-entry');
    await client.pushImage(kept, 'v1');
    await client.pushImage(kept, 'v2');
    await fixture.stores.policies.put('retention', { version: 1, rules: [{ repositories: kept, keepLast: 1 }] });
    vi.stubEnv(LAMBDA_ENV.table, fixture.table);
    vi.stubEnv(LAMBDA_ENV.bucket, fixture.bucket);
    vi.stubEnv(LAMBDA_ENV.emulator, '1');
    vi.stubEnv(LAMBDA_ENV.gcMinAgeMs, '0');
    vi.stubEnv('AWS_REGION', emulators.region);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', emulators.endpoints.s3);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', emulators.endpoints.dynamodb);
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const { handler } = await import('../../functions/lambda/gc');
      const context = { functionName: 'gc', awsRequestId: 'test', getRemainingTimeInMillis: () => 900_000 } as Context;
      await handler({ full: false, retention: true }, context);
    } finally {
      write.mockRestore();
    }
    const metrics = written.map((line) => line.trim()).filter((line) => line.includes('"CloudWatchMetrics"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({ BlobsDeleted: 1, BytesReclaimed: 321, Incomplete: 0, Pass: 'incremental', Chain: 1 });
    expect(await fixture.stores.metadata.getBlob(sha256(bytes))).toBeUndefined();
    expect((await fixture.stores.metadata.listTags(kept, { limit: 10 })).items).toEqual(['v2']);
  });

  it('reads only true as a flag and a positive whole number as a chain', () => {
    expect(gcEventOf(undefined)).toEqual({ full: false, dryRun: false });
    expect(gcEventOf({ full: 'yes', dryRun: 1, chain: -2 })).toEqual({ full: false, dryRun: false });
    expect(gcEventOf({ full: true, dryRun: true, chain: 3 })).toEqual({ full: true, dryRun: true, chain: 3 });
    expect(gcEventOf({ full: false, retention: true })).toEqual({ full: false, dryRun: false, retention: true });
    expect(gcEventOf({ retention: 'yes' })).toEqual({ full: false, dryRun: false });
  });
});
