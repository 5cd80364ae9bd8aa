import { formatBytes } from '../push/progress';
import { registryError, said, seconds } from './observation';
import { edgeRules } from './edge-rules';
import { answered, by, grantFix, host, type Rule, UPLOAD_ENDPOINT_FIX, whom } from './rule-kit';

/** Answers that were not the right ones. */
export const ANSWER_RULES: Rule[] = [
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
  ...edgeRules(),
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

/** Right status, wrong content. */
export const ANOMALY_RULES: Rule[] = [
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

export const FALLBACK: Rule = {
  id: 'unexpected-answer',
  when: () => true,
  explain: (o) => ({
    cause: `${whom[o.role]} at ${host(o)} answered ${o.exchange.status} to ${o.doing} (${said(o.exchange)})`,
    fix: 'read the registry\'s logs for this request',
  }),
};
