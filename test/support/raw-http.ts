import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeats joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * Sends exact bytes to an HTTP server and reads one response: for requests fetch (or
 * node's client) would refuse to send or would normalise (dot segments, a bad Host, odd
 * methods, conflicting framing). The socket is never half-closed (node's server drops a
 * request whose client half-closes). Resolves once the response is complete, or with what
 * arrived when the server closes; rejects if the server closes without a status line.
 */
export function sendRaw(url: string, bytes: string | Buffer, options: { head?: boolean } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (response: RawResponse | Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (response instanceof Error) reject(response);
      else resolve(response);
    };
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = parseResponse(received, options.head ?? false, false);
      if (response) finish(response);
    });
    socket.on('error', (error) => finish(parseResponse(received, options.head ?? false, true) ?? error));
    socket.on('close', () => {
      finish(parseResponse(received, options.head ?? false, true) ?? new Error(`the server closed the connection without an answer (${received.byteLength} bytes)`));
    });
  });
}

/** A complete response in `bytes`, or undefined while more is expected (`closed`: no more will come). */
function parseResponse(bytes: Buffer, head: boolean, closed: boolean): RawResponse | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const rest = bytes.subarray(end + 4);
  if (head || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const body = dechunk(rest);
    if (body) return { status, headers, body };
    return closed ? { status, headers, body: rest } : undefined;
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.byteLength >= length) return { status, headers, body: rest.subarray(0, length) };
    return closed ? { status, headers, body: rest } : undefined;
  }
  return closed ? { status, headers, body: rest } : undefined;
}

/** The body of a complete chunked stream, or undefined while its last chunk is missing. */
function dechunk(bytes: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (bytes.byteLength < start + size + 2) return undefined;
    parts.push(bytes.subarray(start, start + size));
    at = start + size + 2;
  }
}
