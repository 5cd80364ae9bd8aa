import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';
import { uploadViewerDomain, type UploadDomainProps, type UploadViewerDomain } from './upload-domain';

/**
 * Every status CloudFront caches as an error (Developer Guide, "Control how long errors are
 * cached"). Its default keeps an error for 10 s, for every method's response: one 503 from the
 * load balancer while the task is waking would be replayed to the next probe and PATCH. With a
 * TTL of 0 each request goes to the origin.
 */
export const ERROR_STATUSES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

/**
 * Origin timeouts, against CloudFront's quotas (API reference, VpcOriginConfig: read and
 * keep-alive timeouts 1 to 120 s without a quota increase; default 30 s and 5 s).
 *
 * Read (response) timeout: how long CloudFront waits for the first byte of the response after
 * forwarding the request, and then between response packets. CloudFront's documentation defines
 * it for the response only: it does not say whether the clock starts when the request headers
 * are forwarded or after the last byte of the request body. The task answers within seconds of
 * a body's last byte (it writes the last part to S3 first), so if the clock starts after the
 * body, any upload of any duration works. If it starts at the headers, a PATCH streaming longer
 * than this timeout gets a 504 and docker retries it. Which one holds is what `nimbus doctor`'s
 * 100 MiB and 2 GiB chunked PATCHes show on the first real deploy; 120 s is the most the
 * default quota allows either way.
 */
export const ORIGIN_READ_TIMEOUT = Duration.seconds(120);
/**
 * Keep-alive: idle connections to the load balancer are closed by CloudFront before the load
 * balancer's own 120 s idle timeout could close one CloudFront is about to reuse (a 502).
 */
export const ORIGIN_KEEPALIVE_TIMEOUT = Duration.seconds(60);
// Response completion timeout (1 to 3600 s) is left unset on purpose: unset, CloudFront enforces
// no total; any value would cap how long one PATCH may stream a layer.

export interface UploadDistributionProps {
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** @default CloudFront's *.cloudfront.net name and certificate (TLS 1.0 still accepted) */
  readonly domain?: UploadDomainProps;
}

export interface UploadDistribution {
  readonly distribution: cloudfront.Distribution;
  /** https://<host>, the origin upload Locations point at. */
  readonly origin: string;
  /** The custom name it serves, when it has one. */
  readonly viewerDomain: UploadViewerDomain | undefined;
}

/**
 * HTTPS in front of the upload endpoint's private load balancer: every method, every header
 * (but Host) and query string forwarded, nothing cached, no error cached. Created in `scope`
 * itself (id Distribution), so its logical id stays what it was before it had this module.
 */
export function uploadDistribution(scope: Construct, props: UploadDistributionProps): UploadDistribution {
  const custom = uploadViewerDomain(scope, props.domain);
  const distribution = new cloudfront.Distribution(scope, 'Distribution', {
    comment: 'Nimbus upload endpoint: streams layer uploads to the upload task',
    defaultBehavior: {
      origin: origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
        httpPort: 80,
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        readTimeout: ORIGIN_READ_TIMEOUT,
        keepaliveTimeout: ORIGIN_KEEPALIVE_TIMEOUT,
      }),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: false,
    },
    errorResponses: ERROR_STATUSES.map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
    httpVersion: cloudfront.HttpVersion.HTTP2,
    ...(custom ? {
      domainNames: [custom.domainName],
      certificate: custom.certificate,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
    } : {}),
  });
  acknowledge(distribution, 'AwsSolutions-CFR1',
    'A registry\'s pushes come from wherever its users and CI run; every request is already bound to one upload session by its signed, expiring capability.');
  acknowledge(distribution, 'AwsSolutions-CFR2',
    'Requests without a valid upload capability are refused by the task before any byte is stored; a web ACL would add a monthly fee and cannot inspect multi-hundred-MB bodies.');
  acknowledge(distribution, 'AwsSolutions-CFR3',
    'Upload URLs carry their capability in the query string, which standard logs would record; the upload task logs every request without it.');
  if (!custom) {
    acknowledge(distribution, 'AwsSolutions-CFR4',
      'Without a custom domain the endpoint uses the default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; synth warns about it and the README shows the context keys that give it a us-east-1 certificate and TLSv1.2_2021.');
  }
  if (custom?.zone) {
    const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(distribution));
    new route53.ARecord(scope, 'UploadAliasA', { zone: custom.zone, recordName: custom.domainName, target });
    new route53.AaaaRecord(scope, 'UploadAliasAAAA', { zone: custom.zone, recordName: custom.domainName, target });
  }
  return { distribution, viewerDomain: custom, origin: `https://${custom ? custom.domainName : distribution.distributionDomainName}` };
}
