import { RemovalPolicy, Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NimbusRegistryProps } from '../../infra/constructs/registry';
import { registryStack } from './stacks';

const hostedZone = { hostedZoneId: 'Z0123', zoneName: 'example.com' };
const uploadCertificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/uploads';

/** Every upload endpoint kind, and the TLS set-ups of the fargate one. */
const variants: Record<string, [NimbusRegistryProps, Environment?]> = {
  'default (fargate upload endpoint)': [{}],
  'web function upload endpoint': [{ uploadEndpoint: { kind: 'webFunction' } }],
  'upload endpoint off': [{ uploadEndpoint: false }],
  'custom domain in a hosted zone': [{ domain: { domainName: 'registry.example.com', hostedZone } }],
  'custom domain in a hosted zone, in us-east-1 (upload certificate issued)': [{ domain: { domainName: 'registry.example.com', hostedZone } }, { account: '123456789012', region: 'us-east-1' }],
  'custom domain with an upload certificate, web function': [{ uploadEndpoint: { kind: 'webFunction' }, domain: { domainName: 'registry.example.com', hostedZone, uploadCertificateArn } }],
  'custom domain with an upload certificate, in eu-west-1': [{ domain: { domainName: 'registry.example.com', hostedZone, uploadCertificateArn } }, { account: '123456789012', region: 'eu-west-1' }],
  'no server access logs, data destroyed with the stack': [{ serverAccessLogs: false, dataRemovalPolicy: RemovalPolicy.DESTROY }],
};

function findings(app: App, scope: Parameters<AwsSolutionsChecks['validateScope']>[0]): string[] {
  const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)).sort();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cdk-nag AwsSolutions', () => {
  for (const [name, [props, env]] of Object.entries(variants)) {
    it(`passes: ${name}`, () => {
      const { app, stack } = registryStack(props, {}, env);
      expect(findings(app, stack)).toEqual([]);
    });

    it(`has no acknowledgment that is not needed, and a reason for each: ${name}`, () => {
      const acknowledged: string[] = [];
      const reasons: string[] = [];
      // Record acknowledgments instead of applying them, then see what the rules report.
      vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (this: Validations, ...rules) {
        const path = (this as unknown as { scope: { node: { path: string } } }).scope.node.path;
        for (const rule of rules) {
          // CDK acknowledges some CloudFormation-validator warnings itself (W3010 when a VPC reads the AZs).
          if (!rule.id.startsWith('AwsSolutions-')) continue;
          acknowledged.push(`${rule.id} @ ${path}`);
          reasons.push(rule.reason);
        }
      });
      const { app, stack } = registryStack(props, {}, env);
      const reported = findings(app, stack);
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const ack of acknowledged) {
        const [id, path] = ack.split(' @ ');
        expect(reported.some((finding) => finding.startsWith(`${id} @ ${path}/`) || finding === ack), `stale acknowledgment ${ack}`).toBe(true);
      }
      for (const reason of reasons) expect(reason.length).toBeGreaterThan(60);
    });
  }
});
