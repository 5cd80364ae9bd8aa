import { RegistryError } from '../errors';
import type { ByteSource } from '../ports';
import { concat } from '../bytes';

/** Content-Length as a number, undefined when absent; 400 when malformed. */
export function contentLength(request: Request): number | undefined {
  const header = request.headers.get('content-length');
  if (header === null) return undefined;
  if (!/^\d+$/.test(header.trim())) throw new RegistryError('SIZE_INVALID', `Content-Length "${header.slice(0, 20)}" is not a number`);
  return Number(header);
}

/** The body as a byte stream, or undefined when the request carries none. */
export function bodySource(request: Request): ByteSource | undefined {
  if (!request.body) return undefined;
  if (contentLength(request) === 0) return undefined;
  return request.body;
}

/** Reads a small body (a manifest) whole, refusing more than `limit` bytes with 413. */
export async function readBodyWithin(request: Request, limit: number, what: string): Promise<Uint8Array> {
  const tooLarge = () => new RegistryError('SIZE_INVALID', `${what} is larger than the ${limit}-byte limit`, { status: 413, detail: { limit } });
  const declared = contentLength(request);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const source = bodySource(request);
  if (!source) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    // The client went away or broke the framing mid-body: its request, not a 500.
    throw new RegistryError('SIZE_INVALID', `the ${what} body ended before it was complete`, { detail: { received: size } });
  }
  return concat(chunks, size);
}
