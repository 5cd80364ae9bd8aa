import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isTextualResponseType } from './content-types';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A web Response as an API Gateway HTTP API (payload 2.0) result. Text (JSON manifests,
 * errors) goes back as a string; anything else, or text that is not valid UTF-8, goes
 * base64-encoded so every byte survives. HEAD keeps its headers (Content-Length and
 * Docker-Content-Digest are the answer) with an empty body.
 */
export async function responseToResult(response: Response, method: string): Promise<APIGatewayProxyStructuredResultV2> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value; // Headers already joins repeats with ", "
  });
  const cookies = response.headers.getSetCookie();
  const result: APIGatewayProxyStructuredResultV2 = { statusCode: response.status, headers, isBase64Encoded: false, body: '' };
  if (cookies.length) result.cookies = cookies;

  if (method === 'HEAD' || !response.body) {
    await response.body?.cancel();
    return result;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  // API Gateway sets Content-Length from the body it sends.
  delete headers['content-length'];
  if (bytes.byteLength === 0) return result;
  const text = isTextualResponseType(response.headers.get('content-type')) ? decodeUtf8(bytes) : undefined;
  if (text !== undefined) {
    result.body = text;
  } else {
    result.body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    result.isBase64Encoded = true;
  }
  return result;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
