import { describe, expect, it } from 'vitest';
import { only, registryStack, template } from './stacks';
import { Match, Template } from 'aws-cdk-lib/assertions';

const hostedZone = { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' };

describe('custom domain', () => {
  // Built outside the tests' time budget: the first synth of a process is the slow one.
  const withZone = template({ domain: { domainName: 'registry.example.com', hostedZone } });

  it('with a hosted zone: issues a DNS-validated certificate, maps the API at the root and adds alias records', () => {
    const tpl = withZone;
    tpl.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'registry.example.com', ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'registry.example.com', HostedZoneId: hostedZone.hostedZoneId }],
    });
    tpl.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'registry.example.com',
      DomainNameConfigurations: [{ SecurityPolicy: 'TLS_1_2', EndpointType: 'REGIONAL', CertificateArn: { Ref: Match.stringLikeRegexp('Certificate') } }],
    });
    const mapping = only(tpl, 'AWS::ApiGatewayV2::ApiMapping');
    expect(mapping.Properties.ApiMappingKey).toBeUndefined();
    expect(mapping.Properties.Stage).toBe('$default');
    expect(mapping.Properties.ApiId).toEqual({ Ref: expect.stringMatching(/^RegistryHttpApi/) });
    for (const type of ['A', 'AAAA']) {
      tpl.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'registry.example.com.', Type: type, HostedZoneId: hostedZone.hostedZoneId });
    }
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.RegistryUrl!.Value).toBe('https://registry.example.com');
    // Login challenges name the custom domain, whatever Host a request carries.
    tpl.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ NIMBUS_PUBLIC_URL: 'https://registry.example.com' }) } });
    expect(outputs.DockerLoginCommand!.Value).toBe('docker login registry.example.com');
    expect(outputs).not.toHaveProperty('ApiGatewayDomainTarget');
  });

  it('with a certificate ARN only: uses it, adds no records, and outputs the CNAME target', () => {
    const certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc';
    const tpl = template({ domain: { domainName: 'registry.example.com', certificateArn } });
    tpl.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    tpl.resourceCountIs('AWS::Route53::RecordSet', 0);
    tpl.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainNameConfigurations: [Match.objectLike({ CertificateArn: certificateArn })] });
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ApiGatewayDomainTarget!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/DomainName/), 'RegionalDomainName'] });
  });

  it('refuses a domain with neither certificate nor zone', () => {
    expect(() => registryStack({ domain: { domainName: 'registry.example.com' } })).toThrow(/certificateArn or a hostedZone/);
  });

  it('is configurable from cdk.json context', async () => {
    const { App } = await import('aws-cdk-lib');
    const { registryPropsFromContext } = await import('../../infra/context');
    const { RegistryStack } = await import('../../infra/registry-stack');
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        'nimbus:domainName': 'cr.example.org', 'nimbus:hostedZoneId': 'ZABC', 'nimbus:hostedZoneName': 'example.org',
        'nimbus:certificateArn': '', 'nimbus:memorySize': '2048', 'nimbus:tableDeletionProtection': 'true',
      },
    });
    const tpl = Template.fromStack(new RegistryStack(app, 'FromContext', { registry: registryPropsFromContext(app.node) }));
    tpl.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'cr.example.org' });
    tpl.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048 });
    tpl.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
  });
});
