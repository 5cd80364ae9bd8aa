import type { Exchange } from './http';

/** Which host doctor was talking to: each fails for its own reasons. */
export type Role = 'token' | 'registry' | 'upload' | 'storage';

/** A wrong answer that is not an HTTP error: the bytes, the range or the mount were not right. */
export type AnomalyKind = 'digest-mismatch' | 'range-ignored' | 'mount-not-done' | 'no-location' | 'manifest-changed' | 'forged-capability-accepted'
  | 'not-a-registry';

/** One unexpected outcome, with what the diagnosis table needs to name its cause. */
export interface Observation {
  role: Role;
  /** What doctor was doing, for the report: "PATCH (chunked, 100.0 MiB) to the upload Location". */
  doing: string;
  exchange: Exchange;
  anomaly?: { kind: AnomalyKind; detail: string };
  /** --timeout, in ms. */
  idleTimeoutMs: number;
  /** The login doctor used; undefined when anonymous. */
  login: string | undefined;
  repository: string;
  registryHost: string;
  /** What answers at the registry's host, as its headers said: API Gateway when deployed. */
  registryFront: 'api-gateway' | 'cloudfront' | 'direct' | undefined;
}

/** Who produced an answer: the registry's own JSON errors, or a piece of AWS in front of it. */
export type Responder = 'registry' | 'cloudfront' | 'api-gateway' | 'load-balancer' | 's3' | 'other';

/**
 * Reads who answered from the answer itself. CloudFront adds its headers to whatever the
 * origin sends, so the body is looked at first: the registry's errors are OCI JSON, the
 * load balancer's are HTML with `Server: awselb`, S3's are XML, API Gateway's own
 * `{"message": ...}` comes with an `apigw-requestid` header.
 */
export function responder(exchange: Exchange): Responder {
  if (registryError(exchange)) return 'registry';
  const { headers, text } = exchange;
  if (/^awselb/i.test(headers.server ?? '')) return 'load-balancer';
  if (/AmazonS3/i.test(headers.server ?? '') || /^\s*(<\?xml[^>]*>\s*)?<Error>/.test(text)) return 's3';
  if (headers['x-amz-cf-id'] || /cloudfront/i.test(`${headers.via ?? ''} ${headers['x-cache'] ?? ''} ${headers.server ?? ''}`)) return 'cloudfront';
  if (headers['apigw-requestid']) return 'api-gateway';
  return 'other';
}

/** The first error of an OCI error body. */
export function registryError(exchange: Pick<Exchange, 'text'>): { code: string; message: string } | undefined {
  try {
    const first = (JSON.parse(exchange.text) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors?.[0];
    if (first && typeof first.code === 'string') return { code: first.code, message: typeof first.message === 'string' ? first.message : '' };
  } catch {
    // not JSON
  }
  return undefined;
}

/** A short quote of what the server said, for the report. */
export function said(exchange: Exchange): string {
  const oci = registryError(exchange);
  if (oci) return `${oci.code}${oci.message ? `: ${oci.message}` : ''}`;
  const s3 = /<Code>([^<]+)<\/Code>/.exec(exchange.text)?.[1];
  if (s3) return s3;
  try {
    const message = (JSON.parse(exchange.text) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  const title = /<title>([^<]+)<\/title>|<h[12]>([^<]+)<\/h[12]>/i.exec(exchange.text);
  if (title) return (title[1] ?? title[2] ?? '').trim();
  return exchange.text.replace(/\s+/g, ' ').trim().slice(0, 120);
}

export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** What fronts a host, from the headers of any of its answers. */
export function frontOf(exchange: Exchange): 'api-gateway' | 'cloudfront' | 'direct' {
  if (exchange.headers['apigw-requestid']) return 'api-gateway';
  if (exchange.headers['x-amz-cf-id']) return 'cloudfront';
  return 'direct';
}
