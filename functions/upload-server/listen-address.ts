/**
 * Where a Lambda web function's server must listen: the runtime names it in
 * AWS_LAMBDA_HTTP_ENDPOINT as "host:port" (AWS's examples split it at the colon; no PORT is
 * set). Also taken: an IPv6 "[::1]:port", a URL "http://host:port", and a bare port.
 */
export const WEB_FUNCTION_ENDPOINT_ENV = 'AWS_LAMBDA_HTTP_ENDPOINT';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(value: string | undefined): ListenAddress {
  const raw = value?.trim() ?? '';
  if (!raw) throw new Error(`${WEB_FUNCTION_ENDPOINT_ENV} is not set: this entry runs as a Lambda web function (use main.ts elsewhere)`);
  if (/^\d+$/.test(raw)) return { host: '0.0.0.0', port: port(raw, raw) };
  const url = parseUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  if (!url || !url.port || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`${WEB_FUNCTION_ENDPOINT_ENV} must be host:port, not "${raw}"`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: port(url.port, raw) };
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function port(text: string, raw: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${WEB_FUNCTION_ENDPOINT_ENV} names no valid port: "${raw}"`);
  return value;
}
