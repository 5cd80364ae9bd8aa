import { describe, expect, it } from 'vitest';
import { policyOfRole, registryFunction, template } from './stacks';

interface Statement { Sid?: string; Action: string | string[]; Resource: unknown }

describe('direct-upload verifier', () => {
  const tpl = template();
  const verifier = Object.entries(tpl.findResources('AWS::Lambda::Function')).find(([id]) => /^RegistryVerifierHandler/.test(id));

  it('is its own nodejs22.x arm64 function with room to hash a large blob', () => {
    expect(verifier).toBeDefined();
    const props = verifier![1].Properties as Record<string, unknown>;
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Timeout).toBe(900);
    expect(props.MemorySize).toBe(1769);
  });

  it('may read and delete blob objects and write table items, nothing more', () => {
    const statements = (policyOfRole(tpl, /^RegistryVerifierRole/).Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:GetObject']);
    const blobs = statements.find((s) => s.Sid === 'AssembledBlobs')!;
    expect(blobs.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^RegistryBlobs/), 'Arn'] }, '/blobs/*']] });
  });

  it('is invoked by the registry function, which may invoke it and no other function', () => {
    const env = (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.NIMBUS_VERIFIER_FUNCTION).toEqual({ Ref: verifier![0] });
    const statements = (policyOfRole(tpl, /^RegistryFunctionRole/).Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const invoke = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));
    expect(invoke).toEqual([expect.objectContaining({ Sid: 'EnqueueVerification', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [verifier![0], 'Arn'] } })]);
  });
});
