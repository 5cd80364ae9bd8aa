import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';

const context = { functionName: 'verifier', awsRequestId: 'test', getRemainingTimeInMillis: () => 900_000 } as Context;

describe('direct-upload verifier entry', () => {
  it.each([
    ['no event', undefined],
    ['another service\'s event', { Records: [{ eventSource: 'aws:s3' }] }],
    ['an unknown task', { nimbusTask: { type: 'rebuild-everything', upload: 'x' } }],
  ])('throws on %s, so Lambda keeps it in the dead-letter queue instead of dropping it', async (_name, event) => {
    vi.stubEnv(LAMBDA_ENV.table, 'nimbus-test');
    vi.stubEnv(LAMBDA_ENV.bucket, 'nimbus-test');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const { handler } = await import('../../functions/lambda/verifier');
    await expect(handler(event, context)).rejects.toThrow(/not a registry task/);
    vi.unstubAllEnvs();
  });
});
