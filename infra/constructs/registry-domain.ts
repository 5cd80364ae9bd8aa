import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

/** A hosted zone the stack may add records to, named without a lookup (synth stays offline). */
export interface HostedZoneRef {
  readonly hostedZoneId: string;
  /** The zone's domain, e.g. example.com. */
  readonly zoneName: string;
}

export interface RegistryDomainProps {
  /** The registry's host name, e.g. registry.example.com. */
  readonly domainName: string;
  /**
   * ARN of an ACM certificate for `domainName`, in the stack's region.
   * @default a DNS-validated certificate issued in `hostedZone` (one of the two is required)
   */
  readonly certificateArn?: string;
  /**
   * Route 53 zone of `domainName`: the stack adds A/AAAA alias records there.
   * @default no records: point a CNAME at the `ApiGatewayDomainTarget` output yourself
   */
  readonly hostedZone?: HostedZoneRef;
  /**
   * Host name of the Fargate upload endpoint (its CloudFront distribution).
   * @default `uploads.${domainName}`
   */
  readonly uploadDomainName?: string;
  /**
   * ARN of an ACM certificate for the upload endpoint's name, in us-east-1: CloudFront reads
   * certificates from there only, whatever the stack's region. With it (or with `hostedZone`
   * in a stack in us-east-1) the endpoint requires TLS 1.2 (TLSv1.2_2021).
   * @default issued in `hostedZone` when the stack is in us-east-1; otherwise none, and the
   * endpoint keeps its *.cloudfront.net name, which accepts TLS 1.0 (synth warns)
   */
  readonly uploadCertificateArn?: string;
}

/** A custom domain for the HTTP API, with its certificate and, given a zone, its DNS records. */
export class RegistryDomain extends Construct {
  readonly domainName: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: RegistryDomainProps) {
    super(scope, id);
    const zone = props.hostedZone ? route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', props.hostedZone) : undefined;
    let certificate: acm.ICertificate;
    if (props.certificateArn) {
      certificate = acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn);
    } else if (zone) {
      certificate = new acm.Certificate(this, 'Certificate', {
        domainName: props.domainName,
        validation: acm.CertificateValidation.fromDns(zone),
      });
    } else {
      throw new Error(`custom domain ${props.domainName} needs a certificateArn or a hostedZone to issue one in`);
    }
    this.domainName = new apigwv2.DomainName(this, 'DomainName', {
      domainName: props.domainName,
      certificate,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    if (zone) {
      const target = route53.RecordTarget.fromAlias(new targets.ApiGatewayv2DomainProperties(
        this.domainName.regionalDomainName, this.domainName.regionalHostedZoneId,
      ));
      new route53.ARecord(this, 'AliasA', { zone, recordName: props.domainName, target });
      new route53.AaaaRecord(this, 'AliasAAAA', { zone, recordName: props.domainName, target });
    }
  }
}
