import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { malformedRequest, REGISTRY_METHODS } from '../../core/http/request-target';
import { RegistryError } from '../../core/index';

/**
 * Requests node's parser refuses before any request object exists ('clientError'): an
 * unknown method, conflicting Content-Length and Transfer-Encoding, a malformed chunk,
 * headers over node's limit. They get the spec's error like any other bad request; only
 * the status follows node's choice (431 for oversized heads, 408 for slow ones).
 */
export function parserRefusal(code: string | undefined): RegistryError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return malformedRequest('the request line and headers are larger than this server accepts', 431);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return malformedRequest('the request headers did not arrive in time', 408);
    case 'HPE_INVALID_METHOD':
      return new RegistryError('UNSUPPORTED', 'the request method is not one this registry serves', {
        status: 405, headers: { Allow: REGISTRY_METHODS.join(', ') },
      });
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return malformedRequest('Content-Length and Transfer-Encoding are invalid or conflict; send one Content-Length, or Transfer-Encoding: chunked alone');
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_STRICT':
      return malformedRequest('the chunked request body is malformed');
    default:
      return malformedRequest('the request is not valid HTTP/1.1');
  }
}

/**
 * Writes a rendered error straight to a socket that has no ServerResponse (a parse error,
 * CONNECT) and closes it: the rest of the stream cannot be trusted to be a request.
 */
export async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'connection') lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.byteLength}`, 'connection: close', '', '');
  // A CONNECT socket has lost node's own error listener: a reset must not crash the process.
  socket.on('error', () => socket.destroy());
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]), () => socket.destroy());
}
