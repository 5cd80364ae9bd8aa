import { createHash, randomBytes } from 'node:crypto';
import { Agent, request, type IncomingMessage } from 'node:http';

/**
 * A registry client that costs next to nothing: node:http, no web streams, request bodies
 * written from one shared 1 MiB buffer, response bodies counted and dropped. The bench
 * measures the registry, not skopeo's or docker's own work, with it.
 */

const CHUNK = 1024 * 1024;
const filler = randomBytes(CHUNK);

/** A blob whose bytes are the shared filler after a unique first chunk: made once, sent many times. */
export interface RawBlob {
  size: number;
  digest: string;
  first: Buffer;
}

export function rawBlob(size: number): RawBlob {
  const first = Buffer.from(filler.subarray(0, Math.min(CHUNK, size)));
  randomBytes(Math.min(32, first.byteLength)).copy(first);
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += CHUNK) hash.update(at === 0 ? first : filler.subarray(0, Math.min(CHUNK, size - at)));
  return { size, digest: `sha256:${hash.digest('hex')}`, first };
}

export interface RawAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  /** Body bytes, counted; kept only when asked (small answers). */
  bytes: number;
  body?: Buffer;
}

export class RawClient {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(baseUrl: string, sockets: number) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One exchange; `blob` streams as a chunked body (no Content-Length, as docker sends layers). */
  send(method: string, path: string, options: { body?: Buffer; blob?: RawBlob; headers?: Record<string, string>; keep?: boolean } = {}): Promise<RawAnswer> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...options.headers };
    if (options.body) headers['content-length'] = String(options.body.byteLength);
    if (options.blob) headers['content-type'] = 'application/octet-stream';
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent: this.agent, headers }, (res) => {
        let bytes = 0;
        const kept: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength;
          if (options.keep) kept.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, ...(options.keep ? { body: Buffer.concat(kept) } : {}) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (options.blob) writeBlob(req, options.blob);
      else req.end(options.body);
    });
  }

  /** POST, one streamed PATCH, PUT ?digest=: the blob as docker pushes a layer. Resolves with the PATCH's wall time. */
  async pushBlob(repository: string, blob: RawBlob): Promise<{ patchMs: number }> {
    const opened = await this.expect(201, 202)('POST', `/v2/${repository}/blobs/uploads/`);
    const started = performance.now();
    const patched = await this.expect(202)('PATCH', location(opened), { blob });
    const patchMs = performance.now() - started;
    const commit = new URL(location(patched), this.base);
    commit.searchParams.set('digest', blob.digest);
    await this.expect(201)('PUT', commit.pathname + commit.search);
    return { patchMs };
  }

  async pushManifest(repository: string, tag: string, manifest: Buffer, mediaType: string): Promise<void> {
    await this.expect(201)('PUT', `/v2/${repository}/manifests/${tag}`, { body: manifest, headers: { 'content-type': mediaType } });
  }

  /** GET the manifest, then every layer it names in parallel; the bytes received. */
  async pull(repository: string, tag: string, mediaType: string): Promise<number> {
    const manifest = await this.expect(200)('GET', `/v2/${repository}/manifests/${tag}`, { headers: { accept: mediaType }, keep: true });
    const parsed = JSON.parse(manifest.body!.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    const blobs = await Promise.all([parsed.config, ...parsed.layers].map(async (descriptor) => {
      const answer = await this.expect(200)('GET', `/v2/${repository}/blobs/${descriptor.digest}`);
      if (answer.bytes !== descriptor.size) throw new Error(`GET ${descriptor.digest}: ${answer.bytes} bytes, expected ${descriptor.size}`);
      return answer.bytes;
    }));
    return blobs.reduce((sum, bytes) => sum + bytes, manifest.bytes);
  }

  private expect(...statuses: number[]) {
    return async (method: string, path: string, options?: Parameters<RawClient['send']>[2]): Promise<RawAnswer> => {
      const answer = await this.send(method, path, { ...options, keep: true });
      if (!statuses.includes(answer.status)) {
        throw new Error(`${method} ${path.split('?')[0]}: HTTP ${answer.status}, expected ${statuses.join(' or ')}: ${answer.body?.toString('utf8').slice(0, 300)}`);
      }
      return answer;
    };
  }
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** An OCI image manifest over `layers`, with a small config blob of its own (pushed by pushImage). */
export function imageManifest(config: RawBlob, layers: RawBlob[]): Buffer {
  const descriptor = (blob: RawBlob, mediaType: string): Descriptor => ({ mediaType, digest: blob.digest, size: blob.size });
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
    layers: layers.map((layer) => descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')),
  }));
}

/** Pushes every blob in parallel (each one streamed PATCH), then the manifest. */
export async function pushImage(client: RawClient, repository: string, tag: string, config: RawBlob, layers: RawBlob[]): Promise<void> {
  await Promise.all([config, ...layers].map((blob) => client.pushBlob(repository, blob)));
  await client.pushManifest(repository, tag, imageManifest(config, layers), MANIFEST_TYPE);
}

function location(answer: RawAnswer): string {
  const value = answer.headers.location;
  if (!value) throw new Error(`HTTP ${answer.status} without a Location`);
  return value;
}

function writeBlob(req: ReturnType<typeof request>, blob: RawBlob): void {
  let at = 0;
  const pump = () => {
    while (at < blob.size) {
      const piece = at === 0 ? blob.first : filler.subarray(0, Math.min(CHUNK, blob.size - at));
      at += piece.byteLength;
      if (!req.write(piece)) return void req.once('drain', pump);
    }
    req.end();
  };
  pump();
}
