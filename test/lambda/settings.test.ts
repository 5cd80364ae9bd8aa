import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { DEFAULT_CACHE_MAX_FILL_BYTES, readLambdaSettings } from '../../functions/lambda/settings';

const stack = {
  [LAMBDA_ENV.table]: 't', [LAMBDA_ENV.bucket]: 'b', [LAMBDA_ENV.uploadSecretArn]: 'arn:u', [LAMBDA_ENV.tokenSecretArn]: 'arn:t',
};

describe('the registry function\'s public URL', () => {
  it('comes from the environment the stack sets, as an origin', () => {
    expect(readLambdaSettings({ ...stack, [LAMBDA_ENV.publicUrl]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/' }).publicUrl)
      .toBe('https://abc123.execute-api.eu-west-1.amazonaws.com');
  });

  it('fails the cold start, naming the variable, when it is missing or not an origin', () => {
    expect(() => readLambdaSettings(stack)).toThrow(LAMBDA_ENV.publicUrl);
    for (const bad of ['registry.example.com', 'https://registry.example.com/prefix', 'https://r.example?x']) {
      expect(() => readLambdaSettings({ ...stack, [LAMBDA_ENV.publicUrl]: bad }), bad).toThrow(/must be an origin/);
    }
  });
});

describe('the registry function\'s pull-through cache', () => {
  const base = { ...stack, [LAMBDA_ENV.publicUrl]: 'https://r.example' };

  it('is off unless the stack names its secrets prefix', () => {
    expect(readLambdaSettings(base).cache).toBeUndefined();
  });

  it('keeps credentials under the prefix, with the recheck interval and fill limit from the environment or their defaults', () => {
    expect(readLambdaSettings({ ...base, [LAMBDA_ENV.secretPrefix]: 'nimbus/Prod/' }).cache).toEqual({
      secretPrefix: 'nimbus/Prod', recheckMinutes: 60, maxFillBytes: DEFAULT_CACHE_MAX_FILL_BYTES,
    });
    expect(readLambdaSettings({
      ...base, [LAMBDA_ENV.secretPrefix]: 'nimbus/dev', [LAMBDA_ENV.cacheRecheckMinutes]: '0', [LAMBDA_ENV.cacheMaxFillBytes]: '1048576',
    }).cache).toEqual({ secretPrefix: 'nimbus/dev', recheckMinutes: 0, maxFillBytes: 1048576 });
  });

  it('fails the cold start on a prefix that is not a secret name, or a bad number', () => {
    expect(() => readLambdaSettings({ ...base, [LAMBDA_ENV.secretPrefix]: 'nimbus dev' })).toThrow(LAMBDA_ENV.secretPrefix);
    expect(() => readLambdaSettings({ ...base, [LAMBDA_ENV.secretPrefix]: 'nimbus/dev', [LAMBDA_ENV.cacheMaxFillBytes]: '1e9x' })).toThrow(LAMBDA_ENV.cacheMaxFillBytes);
  });
});
