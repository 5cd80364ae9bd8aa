import { createHash, randomBytes } from 'node:crypto';

/** Serves one Distribution API request: global fetch against a server, or an in-process registry. */
export type FetchLike = (request: Request) => Promise<Response>;

const CHUNK = 1024 * 1024;
const filler = randomBytes(CHUNK);

/** `size` bytes unique to this call (the first 32 are random), yielded 1 MiB at a time. */
export interface BlobContent {
  size: number;
  digest: string;
  stream(): ReadableStream<Uint8Array>;
  /** A copy of bytes [start, start + length). */
  slice(start: number, length: number): Uint8Array<ArrayBuffer>;
}

export function blobContent(size: number): BlobContent {
  const first = Buffer.from(filler.subarray(0, Math.min(CHUNK, size)));
  randomBytes(Math.min(32, first.byteLength)).copy(first);
  const chunkAt = (at: number) => (at === 0 ? first : filler.subarray(0, Math.min(CHUNK, size - at)));
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += CHUNK) hash.update(chunkAt(at));
  return {
    size,
    digest: `sha256:${hash.digest('hex')}`,
    slice(start, length) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length;) {
        const at = start + done;
        const chunkStart = at - (at % CHUNK);
        const piece = chunkAt(chunkStart).subarray(at - chunkStart, at - chunkStart + length - done);
        out.set(piece, done);
        done += piece.byteLength;
      }
      return out;
    },
    stream() {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= size) return controller.close();
          const chunk = chunkAt(at);
          at += chunk.byteLength;
          controller.enqueue(new Uint8Array(chunk));
        },
      });
    },
  };
}

async function expectStatus(response: Response, status: number, what: string): Promise<Response> {
  if (response.status !== status) throw new Error(`${what}: HTTP ${response.status}, expected ${status}: ${(await response.text()).slice(0, 500)}`);
  return response;
}

/** POST /v2/<repo>/blobs/uploads/: the absolute upload URL. */
export async function openUpload(fetch: FetchLike, base: string, repository: string): Promise<URL> {
  const response = await expectStatus(await fetch(new Request(`${base}/v2/${repository}/blobs/uploads/`, { method: 'POST' })), 202, 'open upload');
  await response.body?.cancel();
  return new URL(response.headers.get('location')!, base);
}

/** PATCH the whole body as one streamed request (as docker and skopeo send layers); the next upload URL. */
export async function patchStream(fetch: FetchLike, location: URL, body: ReadableStream<Uint8Array>): Promise<URL> {
  const request = new Request(location, {
    method: 'PATCH', body, headers: { 'content-type': 'application/octet-stream' }, duplex: 'half',
  } as RequestInit);
  const response = await expectStatus(await fetch(request), 202, 'PATCH upload');
  await response.body?.cancel();
  return new URL(response.headers.get('location')!, location);
}

/** The final PUT ?digest= with no body: verification and commit, nothing else. */
export async function commitUpload(fetch: FetchLike, location: URL, digest: string): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const response = await expectStatus(await fetch(new Request(url, { method: 'PUT' })), 201, 'commit upload');
  await response.body?.cancel();
}

/**
 * PATCHes the blob in chunks of `chunkSize` with Content-Range, as chunking clients push
 * through a Lambda (at most OCI-Chunk-Max-Length per request); the next upload URL.
 */
export async function patchChunks(fetch: FetchLike, location: URL, blob: BlobContent, chunkSize: number): Promise<URL> {
  let url = location;
  for (let at = 0; at < blob.size; at += chunkSize) {
    const length = Math.min(chunkSize, blob.size - at);
    const request = new Request(url, {
      method: 'PATCH',
      body: blob.slice(at, length),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${at}-${at + length - 1}` },
    });
    const response = await expectStatus(await fetch(request), 202, `PATCH chunk at ${at}`);
    await response.body?.cancel();
    url = new URL(response.headers.get('location')!, url);
  }
  return url;
}
