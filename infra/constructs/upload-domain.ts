import { Annotations, Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import type { Construct } from 'constructs';
import type { HostedZoneRef } from './registry-domain';

/** CloudFront takes viewer certificates from ACM in this region only. */
export const CLOUDFRONT_CERTIFICATE_REGION = 'us-east-1';

/** The upload endpoint's own host name under the registry's domain. */
export interface UploadDomainProps {
  /** e.g. uploads.registry.example.com */
  readonly domainName: string;
  /**
   * ARN of an ACM certificate for `domainName` in us-east-1 (CloudFront's requirement,
   * whatever the stack's region). @default issued in `hostedZone` when the stack is in us-east-1
   */
  readonly certificateArn?: string;
  /** Zone to issue the certificate in and to add the alias records to. @default none */
  readonly hostedZone?: HostedZoneRef;
}

export interface UploadViewerDomain {
  readonly domainName: string;
  readonly certificate: acm.ICertificate;
  readonly zone: route53.IHostedZone | undefined;
}

/** How to get TLS 1.2 on the upload endpoint; repeated by the README ("Custom domain"). */
export const UPLOAD_TLS_FIX = 'set a custom domain (nimbus:domainName) and, unless the stack is in us-east-1 with nimbus:hostedZoneId/nimbus:hostedZoneName, '
  + 'nimbus:uploadCertificateArn: a us-east-1 ACM certificate for uploads.<domain>';

/**
 * The name and certificate the upload distribution serves, or undefined for CloudFront's
 * default *.cloudfront.net name. The default certificate's security policy is fixed by
 * CloudFront at TLSv1, which still accepts TLS 1.0 and 1.1; only a certificate of our own
 * lets the distribution require TLSv1.2_2021. CloudFront reads that certificate from ACM in
 * us-east-1. A stack in us-east-1 issues it in the hosted zone; any other stack takes its ARN
 * (a certificate in the stack's own region is refused by CloudFront at deploy time, so it is
 * refused here at synth).
 */
export function uploadViewerDomain(scope: Construct, props: UploadDomainProps | undefined): UploadViewerDomain | undefined {
  if (!props) {
    Annotations.of(scope).addWarningV2('nimbus:upload-endpoint-tls',
      `The upload endpoint answers on CloudFront's default *.cloudfront.net certificate, which also accepts TLS 1.0 and 1.1. To require TLS 1.2: ${UPLOAD_TLS_FIX}.`);
    return undefined;
  }
  const zone = props.hostedZone ? route53.HostedZone.fromHostedZoneAttributes(scope, 'UploadZone', props.hostedZone) : undefined;
  if (props.certificateArn) {
    const region = Token.isUnresolved(props.certificateArn) ? undefined : Arn.split(props.certificateArn, ArnFormat.SLASH_RESOURCE_NAME).region;
    if (region !== undefined && region !== CLOUDFRONT_CERTIFICATE_REGION) {
      throw new Error(`the upload endpoint's certificate must be in ${CLOUDFRONT_CERTIFICATE_REGION} (CloudFront reads certificates from there only), not ${region}: ${props.certificateArn}`);
    }
    return { domainName: props.domainName, certificate: acm.Certificate.fromCertificateArn(scope, 'UploadCertificate', props.certificateArn), zone };
  }
  if (zone && Stack.of(scope).region === CLOUDFRONT_CERTIFICATE_REGION) {
    const certificate = new acm.Certificate(scope, 'UploadCertificate', { domainName: props.domainName, validation: acm.CertificateValidation.fromDns(zone) });
    return { domainName: props.domainName, certificate, zone };
  }
  Annotations.of(scope).addWarningV2('nimbus:upload-endpoint-tls',
    `The upload endpoint cannot get a certificate for ${props.domainName}: CloudFront needs one in ${CLOUDFRONT_CERTIFICATE_REGION}, and this stack `
    + `${Token.isUnresolved(Stack.of(scope).region) ? 'has no region at synth time' : `is in ${Stack.of(scope).region}`}. It keeps the default *.cloudfront.net certificate, `
    + `which also accepts TLS 1.0 and 1.1. To require TLS 1.2: ${UPLOAD_TLS_FIX}.`);
  return undefined;
}
