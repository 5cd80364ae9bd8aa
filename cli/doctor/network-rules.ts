import { formatBytes } from '../push/progress';
import { seconds } from './observation';
import { API_GATEWAY_BODY_LIMIT, bodyUnsent, failed, host, type Rule, UPLOAD_ENDPOINT_FIX, wholeSeconds, whom } from './rule-kit';

/** No answer at all: the connection, the TLS handshake, or the wait failed. */
export const NETWORK_RULES: Rule[] = [
  {
    id: 'cancelled',
    when: (o) => failed(o, 'aborted'),
    explain: () => ({ cause: 'cancelled (Ctrl-C)', fix: 'run npx nimbus doctor again' }),
  },
  {
    id: 'tls',
    when: (o) => failed(o, 'tls'),
    explain: (o) => {
      const { code, message } = o.exchange.failure!;
      if (/EPROTO|wrong version|packet length/i.test(`${code} ${message}`)) {
        return { cause: `TLS error at ${host(o)} (${code}): it answered in plain HTTP, not HTTPS`, fix: `use http://${host(o)} if it serves plain HTTP (npm start does), or put HTTPS in front of it` };
      }
      return {
        cause: `TLS error at ${host(o)} (${code}: ${message}): ${whom[o.role]}'s certificate is not trusted here (expired, self-signed, or issued for another name)`,
        fix: 'with a custom domain, check that its ACM certificate is issued and covers this exact name; for a self-signed test registry pass --insecure',
      };
    },
  },
  {
    id: 'dns',
    when: (o) => failed(o, 'dns'),
    explain: (o) => ({
      cause: `${host(o)} does not resolve (${o.exchange.failure!.code}): a typo in the URL, or a DNS record that is missing or not yet visible`,
      fix: o.role === 'upload'
        ? 'the upload host comes from the registry (the stack\'s UploadEndpointUrl output, or the custom domain\'s upload name): check its DNS record'
        : 'use the RegistryUrl output of npx cdk deploy, or check the custom domain\'s alias or CNAME record (ApiGatewayDomainTarget)',
    }),
  },
  {
    id: 'upload-endpoint-down',
    when: (o) => o.role === 'upload' && failed(o, 'refused'),
    explain: (o) => ({
      cause: `connection refused at the upload host ${host(o)}: the upload endpoint is down (nothing listens where upload Locations point)`,
      fix: 'check the upload endpoint: its ECS service\'s events and task logs (or the dev:aws output); if the registry should take uploads itself, its upload origin setting (NIMBUS_UPLOAD_ORIGIN) is stale',
    }),
  },
  {
    id: 'storage-unreachable',
    when: (o) => o.role === 'storage' && o.exchange.failure !== undefined,
    explain: (o) => ({
      cause: `307 target not reachable: the blob GET redirected to a presigned S3 URL at ${host(o)}, which failed (${o.exchange.failure!.code}: ${o.exchange.failure!.message})`,
      fix: 'this machine must reach S3 directly (every client follows the redirect): allow the bucket\'s regional S3 endpoint through your proxy or firewall; a VPC endpoint policy may refuse the bucket',
    }),
  },
  {
    id: 'not-listening',
    when: (o) => failed(o, 'refused'),
    explain: (o) => ({
      cause: `connection refused at ${host(o)}: nothing listens there`,
      fix: 'check the URL and port; for npm start or npm run dev:aws, check that it runs (it prints the URL it listens on)',
    }),
  },
  {
    id: 'connect-timeout',
    when: (o) => failed(o, 'timeout', 'unreachable') && o.exchange.failure!.phase === 'connect',
    explain: (o) => ({
      cause: `${whom[o.role]} at ${host(o)} did not accept a connection within ${wholeSeconds(o.idleTimeoutMs)} (${o.exchange.failure!.code}): a firewall, proxy or route drops the traffic`,
      fix: 'check outbound HTTPS from this machine to that host (proxy settings, egress rules)',
    }),
  },
  {
    id: 'upload-endpoint-hung',
    when: (o) => o.role === 'upload' && failed(o, 'timeout'),
    explain: (o) => {
      const { exchange } = o;
      const stall = bodyUnsent(o)
        ? `stopped taking the body after ${formatBytes(exchange.bytesSent)} of ${formatBytes(exchange.bodyBytes)}`
        : 'sent no answer';
      return {
        cause: `the upload endpoint at ${host(o)} accepted the connection but ${stall} for ${wholeSeconds(o.idleTimeoutMs)}: it is stopped or hung (a process that is not scheduled, a task that lost its storage connections)`,
        fix: 'check the upload endpoint\'s logs and health (its ECS tasks, or the dev:aws child process); restart it. Nothing in front of it answered either, so no CloudFront timeout fired',
      };
    },
  },
  {
    id: 'timeout',
    when: (o) => failed(o, 'timeout'),
    explain: (o) => ({
      cause: `${whom[o.role]} at ${host(o)} sent no answer for ${wholeSeconds(o.idleTimeoutMs)} (${o.doing})`,
      fix: o.role === 'storage' ? 'check this machine\'s route to S3' : 'check the registry\'s logs for this request; a deployed registry answers within API Gateway\'s 30 s',
    }),
  },
  {
    id: 'upload-cut-by-api-gateway',
    when: (o) => o.role === 'registry' && failed(o, 'reset') && o.registryFront === 'api-gateway' && o.exchange.bytesSent > API_GATEWAY_BODY_LIMIT,
    explain: (o) => ({
      cause: `API Gateway closed the connection after ${formatBytes(o.exchange.bytesSent)} of ${formatBytes(o.exchange.bodyBytes)}: uploads are going through the function, and API Gateway takes at most 10 MB per request; the upload endpoint is off (nimbus:uploadEndpoint) or the function does not point Locations at it`,
      fix: UPLOAD_ENDPOINT_FIX,
    }),
  },
  {
    id: 'connection-reset',
    when: (o) => failed(o, 'reset'),
    explain: (o) => ({
      cause: `${whom[o.role]} at ${host(o)} closed the connection ${bodyUnsent(o) ? `after ${formatBytes(o.exchange.bytesSent)} of ${formatBytes(o.exchange.bodyBytes)}` : 'before answering'} (${o.exchange.failure!.code}), after ${seconds(o.exchange.elapsedMs)}`,
      fix: 'something in between cut the request: CloudFront or the load balancer may have answered and closed at once (compare with the smaller PATCHes above), or a proxy limits body size or request time; else the endpoint crashed: check its logs',
    }),
  },
  {
    id: 'network',
    when: (o) => o.exchange.failure !== undefined,
    explain: (o) => ({
      cause: `${o.doing} failed at ${host(o)}: ${o.exchange.failure!.code} (${o.exchange.failure!.message})`,
      fix: 'check the network path from this machine to that host',
    }),
  },
];
