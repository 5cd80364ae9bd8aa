import { apiGateway, spec, upload, type HostileCase } from './cases';

/** A request written out byte for byte; `lines` are its header lines, Host included or not. */
function http(method: string, target: string, lines: string[], body = ''): string {
  return [`${method} ${target} HTTP/1.1`, ...lines, 'Connection: close', '', body].join('\r\n');
}

/** A chunked body: gzip's magic bytes, as a client compressing its upload would start. */
const GZIP_CHUNKED = '3\r\n\x1f\x8b\x08\r\n0\r\n\r\n';
const BAD_REQUEST = apiGateway(400, 'Bad Request');
const HEAD_TOO_LARGE = apiGateway(400, 'HTTP header is larger than 10240 bytes.');

const onUpload = (method: string, lines: (host: string) => string[], body = ''): Pick<HostileCase, 'method' | 'target' | 'raw'> => ({
  method, target: upload, raw: (w, host) => http(method, upload(w), lines(host), body),
});

/** Methods no web Request (or no parser) can carry. */
const methods: HostileCase[] = [
  { name: 'TRACE', ...onUpload('TRACE', (host) => [`Host: ${host}`]), expect: spec(405, 'UNSUPPORTED') },
  { name: 'TRACK', ...onUpload('TRACK', (host) => [`Host: ${host}`]), expect: spec(405, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'CONNECT', ...onUpload('CONNECT', (host) => [`Host: ${host}`]), expect: spec(405, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'a lowercase method', ...onUpload('get', (host) => [`Host: ${host}`]), expect: spec(405, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'an unknown method', ...onUpload('FOO', (host) => [`Host: ${host}`]), expect: spec(405, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'a request line that is no HTTP', method: 'GET', target: upload, raw: () => 'hello\r\n\r\n', expect: spec(405, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'the HTTP/2 preface', method: 'PRI', target: upload, raw: () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
];

/** Host: RFC 9112 §3.2, and never a way to rewrite the URL the core sees. */
const hosts: HostileCase[] = [
  { name: 'a Host with a space', ...onUpload('GET', () => ['Host: a b']), expect: spec(400, 'UNSUPPORTED') },
  { name: 'a Host carrying a path and query', ...onUpload('GET', (host) => [`Host: ${host}/v2/other/tags/list?`]), expect: spec(400, 'UNSUPPORTED') },
  { name: 'a Host with an open IPv6 bracket', ...onUpload('GET', () => ['Host: [::1']), expect: spec(400, 'UNSUPPORTED') },
  { name: 'a Host that is no valid IDNA name', ...onUpload('GET', () => ['Host: xn--']), expect: spec(400, 'UNSUPPORTED') },
  { name: 'a Host with port 99999', ...onUpload('GET', () => ['Host: localhost:99999']), expect: spec(400, 'UNSUPPORTED') },
  { name: 'two Host headers', ...onUpload('GET', (host) => [`Host: ${host}`, 'Host: other.example']), expect: spec(400, 'UNSUPPORTED') },
  { name: 'no Host on HTTP/1.1', ...onUpload('GET', () => []), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
];

/** Targets that are not origin-form paths. */
const targets: HostileCase[] = [
  {
    name: 'absolute-form with a ".." segment', method: 'GET', target: (w) => `/v2/${w.ns}/x/../app/tags/list`,
    raw: (w, host) => http('GET', `http://${host}/v2/${w.ns}/x/../app/tags/list`, [`Host: ${host}`]), expect: spec(400, 'NAME_INVALID'),
  },
  { name: 'absolute-form with an invalid authority', method: 'GET', target: upload, raw: (w, host) => http('GET', `http://a%zz${upload(w)}`, [`Host: ${host}`]), expect: spec(400, 'UNSUPPORTED') },
  { name: 'asterisk-form', method: 'OPTIONS', target: () => '*', raw: (w, host) => http('OPTIONS', '*', [`Host: ${host}`]), expect: spec(400, 'UNSUPPORTED') },
  { name: 'a non-ASCII byte in the path', method: 'GET', target: (w) => `/v2/${w.ns}/caf\u00e9/tags/list`, raw: (w, host) => http('GET', `/v2/${w.ns}/caf\u00e9/tags/list`, [`Host: ${host}`]), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
];

/** Header sizes and values API Gateway and node limit differently. */
const headers: HostileCase[] = [
  { name: 'a NUL in a header value', ...onUpload('GET', (host) => [`Host: ${host}`, 'X-A: a\0b']), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: '12 KB of headers (over API Gateway\'s 10240 bytes, under node\'s 16 KB)', ...onUpload('GET', (host) => [`Host: ${host}`, `X-A: ${'a'.repeat(12 * 1024)}`]), expect: { status: 204 }, gateway: HEAD_TOO_LARGE },
  { name: '20 KB of headers', ...onUpload('GET', (host) => [`Host: ${host}`, `X-A: ${'a'.repeat(20 * 1024)}`]), expect: spec(431, 'UNSUPPORTED'), gateway: HEAD_TOO_LARGE },
  { name: 'an Expect other than 100-continue', ...onUpload('GET', (host) => [`Host: ${host}`, 'Expect: fancy']), expect: spec(417, 'UNSUPPORTED'), gateway: { status: 417 } },
];

/** Message framing (RFC 9112 §6): nothing is appended unless the body is exactly what was sent. */
const framing: HostileCase[] = [
  { name: 'Transfer-Encoding: gzip, chunked', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: gzip, chunked'], GZIP_CHUNKED), expect: spec(400, 'UNSUPPORTED') },
  { name: 'Transfer-Encoding: gzip', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: gzip'], '\x1f\x8b\x08'), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'Transfer-Encoding: identity', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: identity'], 'abc'), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'Transfer-Encoding: chunked, chunked', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: chunked, chunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'Transfer-Encoding: chunked with Content-Length', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: chunked', 'Content-Length: 3'], '3\r\nabc\r\n0\r\n\r\n'), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'two different Content-Lengths', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Content-Length: 2', 'Content-Length: 3'], 'abc'), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'a negative Content-Length', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Content-Length: -1']), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'a Content-Length over 2^64', ...onUpload('PATCH', (host) => [`Host: ${host}`, `Content-Length: ${'9'.repeat(25)}`]), expect: spec(400, 'UNSUPPORTED'), gateway: BAD_REQUEST },
  { name: 'a malformed chunk after good ones', ...onUpload('PATCH', (host) => [`Host: ${host}`, 'Transfer-Encoding: chunked'], '3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n'), expect: spec(400, 'BLOB_UPLOAD_INVALID'), gateway: BAD_REQUEST },
];

/** Cases only the wire can carry: every transport answers them (API Gateway itself where noted). */
export const WIRE_CASES: readonly HostileCase[] = [...methods, ...hosts, ...targets, ...headers, ...framing];
