import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { malformedRequest, REGISTRY_METHODS, unsupportedMethod } from '../../core/http/request-target';
import { errorResponse } from '../../core/http/responses';
import { RegistryError, type Logger } from '../../core/index';
import { sendResponse } from './convert';

/**
 * Answers what never reaches the request handler, through the core's renderer: requests
 * node's parser refuses ('clientError'), CONNECT (node hands over the raw socket), and an
 * Expect other than 100-continue (node would answer a bare 417). `framingOf` names the
 * body of the exchange in progress on a socket, if any.
 */
export function answerUnservableRequests(server: Server, logger: Logger, framingOf: (socket: Duplex) => AbortController | undefined): void {
  const refuse = (socket: Duplex, refusal: Error, method: string | undefined) => {
    const requestId = crypto.randomUUID();
    const response = errorResponse(refusal, logger, requestId);
    logger.log('info', 'request', { requestId, method, status: response.status, refused: true });
    void writeRawResponse(socket, response).catch(() => socket.destroy());
  };
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // The head parsed and a handler runs (a malformed chunk, the body of an unknown
    // Transfer-Encoding): fail its body so it answers with a spec error, or lets the answer
    // it started finish; the connection closes after it (the body was never complete).
    const framing = framingOf(socket);
    if (framing) framing.abort(parserRefusal(error.code));
    else refuse(socket, parserRefusal(error.code), undefined);
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => refuse(socket, unsupportedMethod('CONNECT'), 'CONNECT'));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const refusal = malformedRequest(`Expect: ${JSON.stringify(String(req.headers.expect).slice(0, 40))} is not supported; only 100-continue is`, 417);
    res.shouldKeepAlive = false;
    void sendResponse(errorResponse(refusal, logger, crypto.randomUUID()), res, req.method === 'HEAD').catch(() => res.destroy());
  });
}

/**
 * What node's parser refuses ('clientError'): an unknown method, conflicting
 * Content-Length and Transfer-Encoding, a malformed chunk, headers over node's limit. It
 * gets the spec's error like any other bad request; only the status follows node's choice
 * (431 for oversized heads, 408 for slow ones).
 */
function parserRefusal(code: string | undefined): RegistryError {
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
async function writeRawResponse(socket: Duplex, response: Response): Promise<void> {
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
