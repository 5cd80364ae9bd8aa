import { formatBytes } from '../push/progress';
import { said, seconds, type Observation } from './observation';
import { afterLastByte, answered, bodyUnsent, by, host, type Rule } from './rule-kit';

/**
 * The upload endpoint sits behind CloudFront (→ VPC origin → load balancer → task). What
 * CloudFront answers, and when, says which link broke; this is where the first real deploy
 * shows whether CloudFront streams multi-minute chunked bodies.
 */
export function edgeRules(): Rule[] {
  const fromCloudFront = (o: Observation, ...statuses: number[]) => by(o) === 'cloudfront' && answered(o, ...statuses);
  return [
    {
      id: 'cloudfront-504-mid-body',
      when: (o) => fromCloudFront(o, 504) && bodyUnsent(o),
      explain: (o) => ({
        cause: `CloudFront answered 504 after ${seconds(o.exchange.elapsedMs)} while the body was still streaming (${formatBytes(o.exchange.bytesSent)} of ${formatBytes(o.exchange.bodyBytes)} sent): CloudFront gave up on the origin before the chunked body ended, so it does not stream a body this long to the upload endpoint within its origin timeout`,
        fix: 'raise the upload distribution\'s origin response timeout (up to 120 s; more needs a quota increase), choose the webFunction upload endpoint, or push big layers with npx nimbus push (straight to S3); report the sizes and times above in the Nimbus issue tracker',
      }),
    },
    {
      id: 'cloudfront-504-after-body',
      when: (o) => fromCloudFront(o, 504) && o.exchange.bodyBytes > 0 && afterLastByte(o) >= 5_000,
      explain: (o) => ({
        cause: `CloudFront answered 504 ${seconds(afterLastByte(o))} after the body's last byte: the upload endpoint did not answer within CloudFront's origin response timeout (CloudFront may have held the body and sent it on only at its end, leaving the endpoint too little time)`,
        fix: 'raise the upload distribution\'s origin response timeout (up to 120 s), and compare with the chunked PATCH times above: if small bodies pass and large ones fail, CloudFront buffers long bodies; use npx nimbus push for big layers meanwhile',
      }),
    },
    {
      id: 'cloudfront-504-origin-unreachable',
      when: (o) => fromCloudFront(o, 504),
      explain: (o) => ({
        cause: `CloudFront answered 504 after ${seconds(o.exchange.elapsedMs)}: it got no answer from the upload endpoint's load balancer, most likely because it cannot connect: the load balancer does not admit CloudFront's origin-facing traffic (its security group must allow the managed prefix list com.amazonaws.global.cloudfront.origin-facing)`,
        fix: 'deploy the current stack (it admits that prefix list), or add that ingress rule to the load balancer\'s security group; check the VPC origin\'s status in the CloudFront console. If the load balancer\'s access logs do show the request, the task answered too slowly instead: read its logs',
      }),
    },
    {
      id: 'cloudfront-502',
      when: (o) => fromCloudFront(o, 502),
      explain: (o) => ({
        cause: `CloudFront answered 502 after ${seconds(o.exchange.elapsedMs)}: it reached the origin but got no valid answer (the VPC origin's protocol or port does not match the load balancer's listener, or the connection was closed)`,
        fix: 'the VPC origin must use HTTP on the listener\'s port; check the load balancer\'s listener and the VPC origin in the CloudFront console',
      }),
    },
    {
      id: 'load-balancer-timeout',
      when: (o) => by(o) === 'load-balancer' && answered(o, 504),
      explain: (o) => ({
        cause: `the load balancer answered 504 after ${seconds(o.exchange.elapsedMs)}: the upload task took the connection but did not answer within the load balancer's idle timeout (a hung or overloaded task)`,
        fix: 'read the upload task\'s logs; the load balancer\'s idle timeout must exceed the longest silence of an upload (the task answers within seconds of a body\'s last byte)',
      }),
    },
    {
      id: 'load-balancer-bad-gateway',
      when: (o) => by(o) === 'load-balancer' && answered(o, 502),
      explain: () => ({
        cause: 'the load balancer answered 502: the upload task closed the connection or sent something that is not HTTP (it crashed, or ran out of memory mid-request)',
        fix: 'read the ECS service\'s events (exit codes, OutOfMemory) and the task\'s logs; give the task more memory if it was killed',
      }),
    },
    {
      id: 'upload-no-healthy-task',
      when: (o) => o.role === 'upload' && by(o) !== 'registry' && answered(o, 503),
      explain: (o) => ({
        cause: `${by(o) === 'load-balancer' ? 'the load balancer' : 'CloudFront'} answered 503: no healthy upload task behind it (scaled to zero and not started yet, or failing its health checks)`,
        fix: 'run doctor again in a minute (a cold start takes about a minute); if it persists, read the ECS service\'s events and the task\'s logs (image pull, exit code, GET /healthz)',
      }),
    },
    {
      id: 'cloudfront-refused-location',
      when: (o) => o.role === 'upload' && by(o) !== 'registry' && answered(o, 403, 404, 405),
      explain: (o) => ({
        cause: `the upload Location answered ${o.exchange.status} from ${by(o) === 'cloudfront' ? 'CloudFront' : host(o)} itself, not from the upload endpoint (${said(o.exchange)}): the distribution does not pass ${o.exchange.method} on to the origin (allowed methods must be all seven), a WAF rule blocks it, or the Location's host is not the upload distribution`,
        fix: 'compare the Location\'s host with the stack\'s UploadEndpointUrl output, and redeploy the stack so the distribution allows every method',
      }),
    },
  ];
}
