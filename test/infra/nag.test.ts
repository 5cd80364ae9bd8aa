import { RemovalPolicy, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NimbusRegistryProps } from '../../infra/constructs/registry';
import { registryStack } from './stacks';

const variants: Record<string, NimbusRegistryProps> = {
  default: {},
  'custom domain in a hosted zone': { domain: { domainName: 'registry.example.com', hostedZone: { hostedZoneId: 'Z0123', zoneName: 'example.com' } } },
  'no server access logs, data destroyed with the stack': { serverAccessLogs: false, dataRemovalPolicy: RemovalPolicy.DESTROY },
};

function findings(app: App, scope: Parameters<AwsSolutionsChecks['validateScope']>[0]): string[] {
  const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`)).sort();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cdk-nag AwsSolutions', () => {
  for (const [name, props] of Object.entries(variants)) {
    it(`passes: ${name}`, () => {
      const { app, stack } = registryStack(props);
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
      const { app, stack } = registryStack(props);
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
