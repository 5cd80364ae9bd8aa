import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { registryPropsFromContext } from '../../infra/context';
import { only, registryFunction, registryStack } from './stacks';

const hostedZone = { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' };
const US_EAST_1 = { account: '123456789012', region: 'us-east-1' };
const EU_WEST_1 = { account: '123456789012', region: 'eu-west-1' };
const UPLOAD_CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/uploads';
const TLS_WARNING = Match.stringLikeRegexp('TLS 1\\.0.*nimbus:domainName.*nimbus:uploadCertificateArn');

type Config = { Aliases?: string[]; ViewerCertificate?: Record<string, unknown> };
const distributionConfig = (tpl: Template) => only(tpl, 'AWS::CloudFront::Distribution').Properties.DistributionConfig as Config;
const uploadOrigin = (tpl: Template) => (registryFunction(tpl).Properties.Environment as { Variables: Record<string, unknown> }).Variables[LAMBDA_ENV.uploadOrigin];
const aliasRecords = (tpl: Template, name: string) => Object.values(tpl.findResources('AWS::Route53::RecordSet'))
  .map((record) => record.Properties as Record<string, unknown>).filter((record) => record.Name === `${name}.`);

describe('upload endpoint TLS', () => {
  // Built once, outside any test's time budget: the first synth of a process is the slow one.
  const { stack: plain } = registryStack();
  const plainTemplate = Template.fromStack(plain);
  const plainAnnotations = Annotations.fromStack(plain);

  it('without a domain keeps *.cloudfront.net, which accepts TLS 1.0, and says so at synth with the keys that fix it', () => {
    expect(distributionConfig(plainTemplate).ViewerCertificate).toBeUndefined();
    plainAnnotations.hasWarning('/Nimbus/Registry/Uploads', TLS_WARNING);
  });

  it('in us-east-1 with a hosted zone: its own name under the domain, a DNS-validated certificate, TLSv1.2_2021 and alias records', () => {
    const { stack } = registryStack({ domain: { domainName: 'registry.example.com', hostedZone } }, {}, US_EAST_1);
    const tpl = Template.fromStack(stack);
    tpl.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'uploads.registry.example.com', ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'uploads.registry.example.com', HostedZoneId: hostedZone.hostedZoneId }],
    });
    const config = distributionConfig(tpl);
    expect(config.Aliases).toEqual(['uploads.registry.example.com']);
    expect(config.ViewerCertificate).toEqual({
      AcmCertificateArn: { Ref: expect.stringMatching(/^RegistryUploadsUploadCertificate/) }, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only',
    });
    const records = aliasRecords(tpl, 'uploads.registry.example.com');
    expect(records.map((record) => record.Type).sort()).toEqual(['A', 'AAAA']);
    for (const record of records) {
      expect(record).toMatchObject({ HostedZoneId: hostedZone.hostedZoneId, AliasTarget: { DNSName: { 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsDistribution/), 'DomainName'] } } });
    }
    expect(uploadOrigin(tpl)).toBe('https://uploads.registry.example.com');
    expect(Annotations.fromStack(stack).findWarning('*', TLS_WARNING)).toEqual([]);
  });

  it('in another region takes a us-east-1 certificate ARN, and adds the records when it has the zone', () => {
    const { stack } = registryStack({ domain: { domainName: 'registry.example.com', hostedZone, uploadCertificateArn: UPLOAD_CERT } }, {}, EU_WEST_1);
    const tpl = Template.fromStack(stack);
    expect(distributionConfig(tpl).ViewerCertificate).toEqual({ AcmCertificateArn: UPLOAD_CERT, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    tpl.resourcePropertiesCountIs('AWS::CertificateManager::Certificate', { DomainName: 'uploads.registry.example.com' }, 0);
    expect(aliasRecords(tpl, 'uploads.registry.example.com')).toHaveLength(2);
    expect((tpl.toJSON().Outputs as Record<string, unknown>).UploadsDomainTarget).toBeUndefined();
    expect(Annotations.fromStack(stack).findWarning('*', TLS_WARNING)).toEqual([]);
  });

  it('without a zone uses the certificate and outputs the host to point the upload name\'s CNAME at', () => {
    const { stack } = registryStack({ domain: { domainName: 'registry.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/api', uploadCertificateArn: UPLOAD_CERT, uploadDomainName: 'push.example.com' } });
    const tpl = Template.fromStack(stack);
    expect(distributionConfig(tpl).Aliases).toEqual(['push.example.com']);
    tpl.resourceCountIs('AWS::Route53::RecordSet', 0);
    const outputs = tpl.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    expect(outputs.UploadsDomainTarget!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^RegistryUploadsDistribution/), 'DomainName'] });
    expect(outputs.UploadsDomainTarget!.Description).toContain('push.example.com');
    expect(uploadOrigin(tpl)).toBe('https://push.example.com');
  });

  it('in another region without a us-east-1 certificate keeps the default name and warns, rather than failing the deploy', () => {
    const { stack } = registryStack({ domain: { domainName: 'registry.example.com', hostedZone } }, {}, EU_WEST_1);
    const tpl = Template.fromStack(stack);
    expect(distributionConfig(tpl).ViewerCertificate).toBeUndefined();
    tpl.resourcePropertiesCountIs('AWS::CertificateManager::Certificate', { DomainName: 'uploads.registry.example.com' }, 0);
    Annotations.fromStack(stack).hasWarning('/Nimbus/Registry/Uploads', Match.stringLikeRegexp('needs one in us-east-1, and this stack is in eu-west-1'));
  });

  it('refuses a certificate from another region than us-east-1, which CloudFront cannot use', () => {
    expect(() => registryStack({ domain: { domainName: 'registry.example.com', hostedZone, uploadCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/x' } }))
      .toThrow(/must be in us-east-1.*not eu-west-1/);
  });

  it('takes the certificate from nimbus:uploadCertificateArn, which needs nimbus:domainName', () => {
    const app = new App({ context: { 'nimbus:domainName': 'cr.example.org', 'nimbus:certificateArn': 'arn:aws:acm:eu-west-1:1:certificate/a', 'nimbus:uploadCertificateArn': UPLOAD_CERT } });
    expect(registryPropsFromContext(app.node)).toEqual({ domain: { domainName: 'cr.example.org', certificateArn: 'arn:aws:acm:eu-west-1:1:certificate/a', uploadCertificateArn: UPLOAD_CERT } });
    expect(() => registryPropsFromContext(new App({ context: { 'nimbus:uploadCertificateArn': UPLOAD_CERT } }).node)).toThrow(/need nimbus:domainName/);
  });

  it('warns that the web function ignores an upload certificate (it answers on its own *.on.aws name)', () => {
    const { stack } = registryStack({ uploadEndpoint: { kind: 'webFunction' }, domain: { domainName: 'registry.example.com', hostedZone, uploadCertificateArn: UPLOAD_CERT } });
    Annotations.fromStack(stack).hasWarning('/Nimbus/Registry', Match.stringLikeRegexp('uploadCertificateArn is for the fargate upload endpoint'));
    Template.fromStack(stack).resourceCountIs('AWS::CloudFront::Distribution', 0);
  });
});
