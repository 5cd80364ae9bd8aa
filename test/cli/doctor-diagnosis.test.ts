import { describe, expect, it } from 'vitest';
import { DIAGNOSES, diagnose } from '../../cli/doctor/diagnosis';
import type { Exchange, NetworkFailure } from '../../cli/doctor/http';
import { responder, type Observation } from '../../cli/doctor/observation';
import { formatCheck } from '../../cli/doctor/report';
import { registryOrigin } from '../../cli/doctor/run-doctor';

const MiB = 1024 * 1024;
const CLOUDFRONT = { 'x-amz-cf-id': 'abc==', via: '1.1 1234.cloudfront.net (CloudFront)', 'x-cache': 'Error from cloudfront', server: 'CloudFront' };
const CLOUDFRONT_504 = '<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>504 Gateway Timeout ERROR</H1></BODY></HTML>';
const oci = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });

interface Seen {
  role?: Observation['role'];
  method?: string;
  url?: string;
  status?: number;
  headers?: Record<string, string>;
  text?: string;
  failure?: Partial<NetworkFailure> & Pick<NetworkFailure, 'kind'>;
  bodyBytes?: number;
  bytesSent?: number;
  bodySentAtMs?: number;
  answeredAtMs?: number;
  elapsedMs?: number;
  login?: string | undefined;
  anomaly?: Observation['anomaly'];
  registryFront?: Observation['registryFront'];
}

/** An observation as the checks make them; only what a case sets differs from a plain 200. */
function observation(seen: Seen): Observation {
  const exchange: Exchange = {
    method: seen.method ?? 'PATCH',
    url: new URL(seen.url ?? 'https://d111.cloudfront.net/v2/nimbus-doctor/x/blobs/uploads/id?_state=t'),
    headers: seen.headers ?? {},
    text: seen.text ?? '',
    bytesSent: seen.bytesSent ?? seen.bodyBytes ?? 0,
    bodyBytes: seen.bodyBytes ?? 0,
    bytesReceived: 0,
    elapsedMs: seen.elapsedMs ?? 1000,
    ...(seen.status !== undefined ? { status: seen.status, answeredAtMs: seen.answeredAtMs ?? seen.elapsedMs ?? 1000 } : {}),
    ...(seen.bodySentAtMs !== undefined ? { bodySentAtMs: seen.bodySentAtMs } : {}),
    ...(seen.failure ? { failure: { code: 'X', message: 'x', phase: 'wait', ...seen.failure } } : {}),
  };
  return {
    role: seen.role ?? 'upload', doing: 'the request under test', exchange, idleTimeoutMs: 150_000,
    login: 'login' in seen ? seen.login : 'admin', repository: 'nimbus-doctor/abc', registryHost: 'abc.execute-api.eu-west-1.amazonaws.com',
    registryFront: seen.registryFront,
    ...(seen.anomaly ? { anomaly: seen.anomaly } : {}),
  };
}

/** Every rule of the table, each with an observation it must explain, and words the user must read. */
const CASES: Array<[string, Seen, string, RegExp]> = [
  ['Ctrl-C', { failure: { kind: 'aborted' } }, 'cancelled', /cancelled/],
  ['https to a plain-HTTP server', { role: 'registry', failure: { kind: 'tls', code: 'EPROTO', message: 'wrong version number' } }, 'tls', /plain HTTP/],
  ['an expired certificate', { role: 'registry', failure: { kind: 'tls', code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' } }, 'tls', /TLS error .*certificate is not trusted/],
  ['a name that does not resolve', { role: 'registry', failure: { kind: 'dns', code: 'ENOTFOUND', phase: 'connect' } }, 'dns', /does not resolve/],
  ['nothing listening at the upload host', { failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } }, 'upload-endpoint-down',
    /^connection refused at the upload host d111\.cloudfront\.net: the upload endpoint is down/],
  ['a presigned S3 URL that cannot be reached', { role: 'storage', method: 'GET', url: 'https://bucket.s3.eu-west-1.amazonaws.com/blob?X-Amz-Signature=s', failure: { kind: 'timeout', code: 'DOCTOR_TIMEOUT', phase: 'connect' } },
    'storage-unreachable', /^307 target not reachable: .*presigned S3 URL at bucket\.s3/],
  ['nothing listening at the registry', { role: 'registry', failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } }, 'not-listening', /connection refused at/],
  ['no connection within the timeout', { role: 'registry', failure: { kind: 'timeout', code: 'DOCTOR_TIMEOUT', phase: 'connect' } }, 'connect-timeout', /did not accept a connection/],
  ['an upload endpoint that stops reading the body', { bodyBytes: 100 * MiB, bytesSent: 20 * MiB, failure: { kind: 'timeout', code: 'DOCTOR_TIMEOUT', phase: 'send' } },
    'upload-endpoint-hung', /accepted the connection but stopped taking the body after 20\.0 MiB of 100\.0 MiB/],
  ['an upload endpoint that never answers', { method: 'GET', failure: { kind: 'timeout', code: 'DOCTOR_TIMEOUT', phase: 'wait' } }, 'upload-endpoint-hung', /accepted the connection but sent no answer for 150 s/],
  ['a registry that never answers', { role: 'registry', failure: { kind: 'timeout', code: 'DOCTOR_TIMEOUT', phase: 'wait' } }, 'timeout', /sent no answer for 150 s/],
  ['API Gateway cutting a body past its 10 MB', { role: 'registry', bodyBytes: 100 * MiB, bytesSent: 74 * MiB, failure: { kind: 'reset', code: 'ECONNRESET', phase: 'send' }, registryFront: 'api-gateway' },
    'upload-cut-by-api-gateway', /^API Gateway closed the connection after 74\.0 MiB of 100\.0 MiB: uploads are going through the function/],
  ['a connection cut mid-body', { bodyBytes: 100 * MiB, bytesSent: 60 * MiB, failure: { kind: 'reset', code: 'ECONNRESET', phase: 'send' } }, 'connection-reset', /closed the connection after 60\.0 MiB of 100\.0 MiB/],
  ['an unusual network error', { failure: { kind: 'other', code: 'EWEIRD' } }, 'network', /EWEIRD/],
  ['a wrong password', { role: 'token', method: 'GET', url: 'https://abc/token?scope=x', status: 401, text: oci('UNAUTHORIZED', 'invalid credentials') }, 'login-refused', /^401 at \/token: wrong credentials or no grant/],
  ['too many logins', { role: 'token', status: 429, text: oci('TOOMANYREQUESTS', 'slow down') }, 'login-throttled', /throttling/],
  ['no login for a registry that needs one', { role: 'registry', status: 401, login: undefined }, 'login-required', /requires a login/],
  ['a login without a grant', { role: 'registry', method: 'POST', url: 'https://abc/v2/nimbus-doctor/abc/blobs/uploads/', status: 403, text: oci('DENIED', 'requested access to the resource is denied') },
    'no-grant', /admin may not push to nimbus-doctor\/abc/],
  ['a presigned URL refused by S3', { role: 'storage', method: 'GET', status: 403, headers: { server: 'AmazonS3' }, text: '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>' },
    'presigned-url-refused', /307 target refused: S3 answered 403 \(AccessDenied\)/],
  ['a big body through API Gateway', { role: 'registry', status: 413, headers: { 'apigw-requestid': 'x' }, text: '{"message":"Request Entity Too Large"}', bodyBytes: 100 * MiB, bytesSent: 11 * MiB },
    'upload-through-function', /^413 from API Gateway \(Request Entity Too Large\): uploads are going through the function.*the upload endpoint is off \(nimbus:uploadEndpoint\)/],
  ['a big body refused by the function itself', { role: 'registry', status: 413, headers: { 'apigw-requestid': 'x' }, text: oci('SIZE_INVALID', 'too big'), bodyBytes: 5 * MiB },
    'upload-through-function', /^413 from the registry function/],
  ['a body limit in a proxy', { status: 413, headers: { server: 'nginx' }, text: '<html><title>413 Request Entity Too Large</title></html>', bodyBytes: 32 * MiB, bytesSent: MiB }, 'body-limit', /limits request bodies/],
  ['CloudFront giving up while the chunked body still streams', { status: 504, headers: CLOUDFRONT, text: CLOUDFRONT_504, bodyBytes: 2048 * MiB, bytesSent: 700 * MiB, elapsedMs: 65_000 },
    'cloudfront-504-mid-body', /^CloudFront answered 504 after 65\.0 s while the body was still streaming \(700\.0 MiB of 2\.0 GiB sent\)/],
  ['CloudFront giving up after the body', { status: 504, headers: CLOUDFRONT, text: CLOUDFRONT_504, bodyBytes: 100 * MiB, bodySentAtMs: 20_000, answeredAtMs: 50_000, elapsedMs: 50_000 },
    'cloudfront-504-after-body', /^CloudFront answered 504 30\.0 s after the body's last byte/],
  ['CloudFront unable to reach the load balancer', { method: 'GET', status: 504, headers: CLOUDFRONT, text: CLOUDFRONT_504, elapsedMs: 30_200 },
    'cloudfront-504-origin-unreachable', /^CloudFront answered 504 after 30\.2 s: .*the load balancer does not admit CloudFront's origin-facing traffic/],
  ['CloudFront with a wrong origin protocol', { status: 502, headers: CLOUDFRONT, text: '<HTML>502</HTML>' }, 'cloudfront-502', /CloudFront answered 502/],
  ['a hung task behind the load balancer', { status: 504, headers: { ...CLOUDFRONT, server: 'awselb/2.0' }, text: '<html><head><title>504 Gateway Time-out</title></head></html>' }, 'load-balancer-timeout', /load balancer answered 504/],
  ['a crashed task behind the load balancer', { status: 502, headers: { server: 'awselb/2.0' }, text: '<html><head><title>502 Bad Gateway</title></head></html>' }, 'load-balancer-bad-gateway', /load balancer answered 502/],
  ['no healthy upload task', { method: 'GET', status: 503, headers: { ...CLOUDFRONT, server: 'awselb/2.0' }, text: '<html><head><title>503 Service Temporarily Unavailable</title></head></html>' },
    'upload-no-healthy-task', /no healthy upload task/],
  ['CloudFront refusing the Location itself', { method: 'GET', status: 403, headers: CLOUDFRONT, text: '<HTML><TITLE>ERROR: The request could not be satisfied</TITLE></HTML>' },
    'cloudfront-refused-location', /^the upload Location answered 403 from CloudFront itself/],
  ['an upload endpoint with another signing key', { status: 404, headers: CLOUDFRONT, text: oci('BLOB_UPLOAD_UNKNOWN', 'upload URL is not valid for this upload') },
    'upload-capability-refused', /refused the Location the registry handed out \(404 BLOB_UPLOAD_UNKNOWN/],
  ['a function that outlives API Gateway', { role: 'registry', method: 'POST', status: 503, headers: { 'apigw-requestid': 'x' }, text: '{"message":"Service Unavailable"}', elapsedMs: 30_050 },
    'function-timeout', /^API Gateway answered 503 after 30\.1 s/],
  ['a crashing function', { role: 'registry', status: 500, headers: { 'apigw-requestid': 'x' }, text: '{"message":"Internal Server Error"}' }, 'function-failed', /function crashed/],
  ['a registry error', { role: 'registry', status: 500, text: oci('UNKNOWN', 'internal error (request 42)') }, 'server-error', /failed: 500 \(UNKNOWN: internal error \(request 42\)\)/],
  ['other bytes than pushed', { role: 'storage', status: 200, anomaly: { kind: 'digest-mismatch', detail: 'hashing to 123' } }, 'digest-mismatch', /not the bytes pushed/],
  ['a Range dropped on the way', { role: 'storage', status: 200, anomaly: { kind: 'range-ignored', detail: '200' } }, 'range-ignored', /cannot resume/],
  ['a mount that uploads instead', { role: 'registry', status: 202, anomaly: { kind: 'mount-not-done', detail: '202' } }, 'mount-not-done', /mount was not done/],
  ['a 202 without Location', { role: 'registry', status: 202, anomaly: { kind: 'no-location', detail: 'none' } }, 'no-location', /without a usable Location/],
  ['a manifest stored differently', { role: 'registry', status: 201, anomaly: { kind: 'manifest-changed', detail: 'other digest' } }, 'manifest-changed', /came back different/],
  ['the upload endpoint\'s URL given as the registry', { role: 'registry', status: 404, anomaly: { kind: 'not-a-registry', detail: 'GET /v2/ answered 404' } }, 'not-a-registry', /not an OCI registry/],
  ['an upload host that takes forged capabilities', { method: 'GET', status: 204, anomaly: { kind: 'forged-capability-accepted', detail: 'answered 204' } }, 'forged-capability-accepted', /forged/],
  ['anything else', { role: 'registry', status: 418, text: 'teapot' }, 'unexpected-answer', /answered 418/],
];

describe('nimbus doctor: the diagnosis table', () => {
  it.each(CASES)('explains %s', (_, seen, id, words) => {
    const diagnosis = diagnose(observation(seen));
    expect(diagnosis.id).toBe(id);
    expect(diagnosis.cause).toMatch(words);
    expect(diagnosis.fix.length).toBeGreaterThan(20);
  });

  it('has a case for every rule, so no rule is dead or untested', () => {
    expect(new Set(CASES.map(([, , id]) => id))).toEqual(new Set(DIAGNOSES.map((rule) => rule.id)));
  });

  it('names the login and the repository in the grant it suggests', () => {
    const diagnosis = diagnose(observation({ role: 'registry', status: 403, text: oci('DENIED', 'no'), login: 'robot+ci' }));
    expect(diagnosis.fix).toContain("npx nimbus grant robot+ci 'nimbus-doctor/**' pull,push,delete");
  });

  it('reads who answered from the answer: the registry\'s JSON through CloudFront is the registry\'s', () => {
    const seen = (headers: Record<string, string>, text = '') => responder(observation({ status: 500, headers, text }).exchange);
    expect(seen(CLOUDFRONT, oci('UNKNOWN', 'x'))).toBe('registry');
    expect(seen(CLOUDFRONT, CLOUDFRONT_504)).toBe('cloudfront');
    expect(seen({ ...CLOUDFRONT, server: 'awselb/2.0' })).toBe('load-balancer');
    expect(seen({}, '<Error><Code>SlowDown</Code></Error>')).toBe('s3');
    expect(seen({ 'apigw-requestid': 'x' }, '{"message":"Internal Server Error"}')).toBe('api-gateway');
    expect(seen({})).toBe('other');
  });

  it('prints a failure as its cause, the request it happened in, and the fix', () => {
    const diagnosis = diagnose(observation({ failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } }));
    const lines = formatCheck({ name: 'chunked PATCH 1.0 MiB', status: 'fail', ms: 12, detail: diagnosis.cause, during: 'PATCH to the upload Location', diagnosis });
    expect(lines).toEqual([
      expect.stringMatching(/^FAIL {2}chunked PATCH 1\.0 MiB +12 ms +connection refused at the upload host/),
      '      during: PATCH to the upload Location',
      `      fix: ${diagnosis.fix}`,
    ]);
  });
});

describe('nimbus doctor: the registry URL', () => {
  it.each([
    ['https://abc.execute-api.eu-west-1.amazonaws.com', 'https://abc.execute-api.eu-west-1.amazonaws.com'],
    ['https://abc.execute-api.eu-west-1.amazonaws.com/', 'https://abc.execute-api.eu-west-1.amazonaws.com'],
    ['https://registry.example.com/v2/', 'https://registry.example.com'],
    ['registry.example.com', 'https://registry.example.com'],
    ['localhost:5000', 'http://localhost:5000'],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['http://10.0.0.5:5000', 'http://10.0.0.5:5000'],
  ])('takes %s as %s', (input, origin) => {
    expect(registryOrigin(input).origin).toBe(origin);
  });

  it.each(['ftp://registry.example.com', 'https://registry.example.com/team/app', 'https://user:pw@registry.example.com', 'https://[nonsense'])('refuses %s with a usable message', (input) => {
    expect(() => registryOrigin(input)).toThrow(/registry|origin/);
  });
});
