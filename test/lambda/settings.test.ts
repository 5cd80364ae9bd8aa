import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { readLambdaSettings } from '../../functions/lambda/settings';

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
