import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { actionsOf, registryFunction, registryStack, statementsBySid, statementsOfRole, template } from './stacks';

const tpl = template();
const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
const bySid = statementsBySid(tpl, /^RegistryFunctionRole/);
const cacheSecretArn = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:nimbus/Nimbus/cache/*']],
};

describe('pull-through cache on the registry function', () => {
  it('names the stack\'s run-time secrets prefix, nimbus/<stack name>, which turns the cache on', () => {
    // The stack in stacks.ts is named Nimbus.
    expect(env[LAMBDA_ENV.secretPrefix]).toBe('nimbus/Nimbus');
  });

  it('leaves the tuning to the function\'s defaults, and sets what the cache prop says (checked at synth)', () => {
    expect(env[LAMBDA_ENV.cacheMaxFillBytes]).toBeUndefined();
    expect(env[LAMBDA_ENV.cacheRecheckMinutes]).toBeUndefined();
    const tuned = (registryFunction(template({ cache: { maxFillBytes: 512 * 1024 * 1024, recheckMinutes: 0 } })).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(tuned[LAMBDA_ENV.cacheMaxFillBytes]).toBe(String(512 * 1024 * 1024));
    expect(tuned[LAMBDA_ENV.cacheRecheckMinutes]).toBe('0');
    expect(() => registryStack({ cache: { maxFillBytes: 0 } })).toThrow(/cache.maxFillBytes must be a positive integer/);
    expect(() => registryStack({ cache: { recheckMinutes: 1.5 } })).toThrow(/cache.recheckMinutes must be an integer/);
  });

  it('may create, replace, read and delete secrets under nimbus/<stack>/cache/ and nothing more', () => {
    const statement = bySid.CacheCredentials!;
    expect(statement.Effect).toBe('Allow');
    expect(actionsOf(statement).sort()).toEqual([
      'secretsmanager:CreateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue',
    ]);
    expect(statement.Resource).toEqual(cacheSecretArn);
  });

  it('grants no other statement write access to Secrets Manager, and no secret action on a wider resource', () => {
    for (const statement of statementsOfRole(tpl, /^RegistryFunctionRole/)) {
      const secretActions = actionsOf(statement).filter((action) => action.startsWith('secretsmanager:'));
      if (secretActions.length === 0 || statement.Sid === 'CacheCredentials') continue;
      // Any other secret statement reads one named secret or its own prefix (e.g. webhook secrets), never the cache's.
      expect(JSON.stringify(statement.Resource)).not.toContain('/cache/');
      expect(statement.Resource).not.toBe('*');
    }
  });
});

describe('pull-through cache fills on the upload endpoint', () => {
  it('gives the Fargate task the secrets prefix (the web function: web-function.test.ts)', () => {
    const task = Object.values(tpl.findResources('AWS::ECS::TaskDefinition'))[0]!.Properties as { ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: unknown }> }> };
    const env = Object.fromEntries(task.ContainerDefinitions[0]!.Environment.map((entry) => [entry.Name, entry.Value]));
    expect(env[LAMBDA_ENV.secretPrefix]).toBe('nimbus/Nimbus');
  });

  it('lets the endpoint read, never write, cache credentials', () => {
    const task = statementsBySid(tpl, /^RegistryUploadsTaskTaskRole/);
    expect(task.CacheFillCredentials!.Action).toBe('secretsmanager:GetSecretValue');
    expect(task.CacheFillCredentials!.Resource).toEqual(cacheSecretArn);
    const writes = statementsOfRole(tpl, /^RegistryUploadsTaskTaskRole/).flatMap(actionsOf).filter((action) => /secretsmanager:(Create|Put|Delete)/.test(action));
    expect(writes).toEqual([]);
  });
});
