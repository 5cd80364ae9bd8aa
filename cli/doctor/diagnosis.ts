import { formatBytes } from '../push/progress';
import { registryError, responder, said, seconds, type Observation } from './observation';

export interface Diagnosis {
  /** Stable name of the rule that matched (for --json and tests). */
  id: string;
  /** What was observed and what it most likely means, in one sentence. */
  cause: string;
  /** What to do about it. */
  fix: string;
}

interface Rule {
  id: string;
  when: (o: Observation) => boolean;
  explain: (o: Observation) => Omit<Diagnosis, 'id'>;
}

const host = (o: Observation) => o.exchange.url.host;
const failed = (o: Observation, ...kinds: string[]) => o.exchange.failure !== undefined && kinds.includes(o.exchange.failure.kind);
const answered = (o: Observation, ...statuses: number[]) => o.exchange.failure === undefined && statuses.includes(o.exchange.status ?? -1);
const by = (o: Observation) => responder(o.exchange);
const bodyUnsent = (o: Observation) => o.exchange.bodyBytes > 0 && o.exchange.bodySentAtMs === undefined;
const afterLastByte = (o: Observation) => (o.exchange.answeredAtMs ?? o.exchange.elapsedMs) - (o.exchange.bodySentAtMs ?? 0);
const grantFix = (o: Observation) => `npx nimbus grant ${o.login ?? 'USER'} '${o.repository.replace(/\/[^/]*$/, '')}/**' pull,push,delete`;
/** API Gateway HTTP APIs take request bodies of up to 10 MB. */
const API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024;
const UPLOAD_ENDPOINT_FIX = 'deploy with the upload endpoint on (the default; npx cdk deploy -c nimbus:uploadEndpoint=true), or push big layers with npx nimbus push, which sends them straight to S3';
const wholeSeconds = (ms: number) => `${Math.round(ms / 1000)} s`;
const whom: Record<Observation['role'], string> = {
  token: 'the token endpoint', registry: 'the registry', upload: 'the upload endpoint', storage: 'storage (the 307 target)',
};

/** No answer at all: the connection, the TLS handshake, or the wait failed. */
const NETWORK_RULES: Rule[] = [
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

/** Answers that were not the right ones. */
const ANSWER_RULES: Rule[] = [
  {
    id: 'login-refused',
    when: (o) => o.role === 'token' && answered(o, 401, 403),
    explain: (o) => ({
      cause: `${o.exchange.status} at /token: wrong credentials or no grant (${said(o.exchange)})`,
      fix: o.login
        ? `check the password of ${o.login}; if ${o.login} is new, create it and give it a grant: echo "$PASSWORD" | npx nimbus user add ${o.login} --password-stdin && ${grantFix(o)} `
          + '(for a deployed stack, put --table <MetadataTableName> --region <region> after npx nimbus)'
        : 'log in: pass --username NAME --password-stdin, set NIMBUS_USERNAME and NIMBUS_PASSWORD, or run docker login first',
    }),
  },
  {
    id: 'login-throttled',
    when: (o) => answered(o, 429),
    explain: (o) => ({ cause: `${whom[o.role]} is throttling (429: ${said(o.exchange)})`, fix: 'wait a minute and run doctor again; failed logins are limited per name and address' }),
  },
  {
    id: 'login-required',
    when: (o) => !o.login && answered(o, 401),
    explain: () => ({ cause: 'the registry requires a login (401) and doctor has none', fix: 'pass --username NAME --password-stdin, set NIMBUS_USERNAME and NIMBUS_PASSWORD, or run docker login first' }),
  },
  {
    id: 'no-grant',
    when: (o) => o.role !== 'upload' && o.role !== 'storage' && (answered(o, 401, 403) || registryError(o.exchange)?.code === 'DENIED'),
    explain: (o) => ({
      cause: `${o.exchange.status} at ${o.exchange.url.pathname}: ${o.login ?? 'anonymous'} may not push to ${o.repository} (${said(o.exchange)})`,
      fix: `give the login push, pull and delete there: ${grantFix(o)} (or pass --repository a repository it may push to)`,
    }),
  },
  {
    id: 'presigned-url-refused',
    when: (o) => o.role === 'storage' && answered(o, 400, 403),
    explain: (o) => ({
      cause: `307 target refused: S3 answered ${o.exchange.status} (${said(o.exchange)}) to the presigned blob URL`,
      fix: 'AccessDenied: the registry function\'s role lacks s3:GetObject on the blob prefix (or kms:Decrypt for a KMS bucket); RequestTimeTooSkewed or expired: the clocks differ, or blobRedirectSeconds is too short',
    }),
  },
  {
    id: 'upload-through-function',
    when: (o) => answered(o, 413) && (by(o) === 'api-gateway' || (by(o) === 'registry' && o.role === 'registry')),
    explain: (o) => ({
      cause: `413 from ${by(o) === 'api-gateway' ? 'API Gateway' : 'the registry function'} (${said(o.exchange)}): uploads are going through the function, which takes at most ~4.45 MiB per request; the upload endpoint is off (nimbus:uploadEndpoint) or the function does not point Locations at it`,
      fix: UPLOAD_ENDPOINT_FIX,
    }),
  },
  {
    id: 'body-limit',
    when: (o) => answered(o, 413),
    explain: (o) => ({
      cause: `413 from ${by(o) === 'other' ? host(o) : by(o)} after ${formatBytes(o.exchange.bytesSent)}: something in front of ${whom[o.role]} limits request bodies (${said(o.exchange)})`,
      fix: 'lift the body-size limit of that proxy (nginx client_max_body_size, a WAF body rule)',
    }),
  },
  ...cloudFrontRules(),
  {
    id: 'upload-capability-refused',
    when: (o) => o.role === 'upload' && by(o) === 'registry' && answered(o, 401, 403, 404),
    explain: (o) => ({
      cause: `the upload endpoint refused the Location the registry handed out (${o.exchange.status} ${said(o.exchange)}): they do not sign upload URLs with the same key, or their clocks differ`,
      fix: 'both read the upload key from the same Secrets Manager secret: redeploy so the endpoint\'s tasks pick up the current one, and check their clocks (NTP)',
    }),
  },
  {
    id: 'function-timeout',
    when: (o) => by(o) === 'api-gateway' && answered(o, 503, 504),
    explain: (o) => ({
      cause: `API Gateway answered ${o.exchange.status} after ${seconds(o.exchange.elapsedMs)}: the registry function did not answer within 30 s (an upload POST waits for a scaled-to-zero upload endpoint to start; a cold function plus a slow start can pass 30 s)`,
      fix: 'run doctor again in a minute; if it persists, read the function\'s CloudWatch logs (DynamoDB or S3 throttling, a slow wake of the upload endpoint)',
    }),
  },
  {
    id: 'function-failed',
    when: (o) => by(o) === 'api-gateway' && (o.exchange.status ?? 0) >= 500,
    explain: (o) => ({
      cause: `API Gateway answered ${o.exchange.status} (${said(o.exchange)}): the registry function crashed or returned something API Gateway could not use`,
      fix: 'read the function\'s CloudWatch logs around this time (its log group is in the stack\'s resources)',
    }),
  },
  {
    id: 'server-error',
    when: (o) => (o.exchange.status ?? 0) >= 500,
    explain: (o) => ({
      cause: `${whom[o.role]} at ${host(o)} failed: ${o.exchange.status} (${said(o.exchange)})`,
      fix: 'read its logs for this request (a registry error names the request id)',
    }),
  },
];

/**
 * The upload endpoint sits behind CloudFront (→ VPC origin → load balancer → task). What
 * CloudFront answers, and when, says which link broke; this is where the first real deploy
 * shows whether CloudFront streams multi-minute chunked bodies.
 */
function cloudFrontRules(): Rule[] {
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

/** Right status, wrong content. */
const ANOMALY_RULES: Rule[] = [
  {
    id: 'digest-mismatch',
    when: (o) => o.anomaly?.kind === 'digest-mismatch',
    explain: (o) => ({
      cause: `the bytes served are not the bytes pushed (${o.anomaly!.detail}): ${o.role === 'storage' ? 'storage' : 'the registry'} returned other content under this digest`,
      fix: 'this is a registry bug or storage corruption: keep the output, and report it with the registry\'s logs',
    }),
  },
  {
    id: 'range-ignored',
    when: (o) => o.anomaly?.kind === 'range-ignored',
    explain: (o) => ({ cause: `a Range request got ${o.anomaly!.detail}: interrupted pulls cannot resume`, fix: 'the registry or a proxy in front of storage drops the Range header: check what sits between this machine and storage' }),
  },
  {
    id: 'mount-not-done',
    when: (o) => o.anomaly?.kind === 'mount-not-done',
    explain: (o) => ({
      cause: `the cross-repository mount was not done (${o.anomaly!.detail}): the registry opened an upload instead, so clients upload the layer again`,
      fix: `the login needs pull on the source repository as well: ${grantFix(o)}`,
    }),
  },
  {
    id: 'no-location',
    when: (o) => o.anomaly?.kind === 'no-location',
    explain: (o) => ({ cause: `the registry answered ${o.exchange.status} without a usable Location (${o.anomaly!.detail})`, fix: 'this is a registry bug: report it with the registry\'s logs' }),
  },
  {
    id: 'not-a-registry',
    when: (o) => o.anomaly?.kind === 'not-a-registry',
    explain: (o) => ({
      cause: `${host(o)} is not an OCI registry (${o.anomaly!.detail})`,
      fix: 'use the RegistryUrl output of npx cdk deploy (the API, not the upload endpoint\'s CloudFront URL), with no path',
    }),
  },
  {
    id: 'forged-capability-accepted',
    when: (o) => o.anomaly?.kind === 'forged-capability-accepted',
    explain: (o) => ({
      cause: `the upload host ${host(o)} took an upload Location whose capability was forged (${o.anomaly!.detail}): anyone who guesses a session can write to it`,
      fix: 'the upload endpoint must check the signed _state of every upload request: deploy the current release, and do not put another authoriser in front of it that lets requests through unchecked',
    }),
  },
  {
    id: 'manifest-changed',
    when: (o) => o.anomaly?.kind === 'manifest-changed',
    explain: (o) => ({ cause: `the manifest came back different (${o.anomaly!.detail})`, fix: 'a registry must store manifests byte for byte: report it with the registry\'s logs' }),
  },
];

const FALLBACK: Rule = {
  id: 'unexpected-answer',
  when: () => true,
  explain: (o) => ({
    cause: `${whom[o.role]} at ${host(o)} answered ${o.exchange.status} to ${o.doing} (${said(o.exchange)})`,
    fix: 'read the registry\'s logs for this request',
  }),
};

/** The table, in order: the first rule that matches explains the observation. */
export const DIAGNOSES: readonly Rule[] = [...NETWORK_RULES, ...ANOMALY_RULES, ...ANSWER_RULES, FALLBACK];

export function diagnose(observation: Observation): Diagnosis {
  const rule = DIAGNOSES.find((each) => each.when(observation))!;
  return { id: rule.id, ...rule.explain(observation) };
}
