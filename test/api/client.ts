import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';

/** A fetch function: the registry in-process, or over HTTP. */
export type Fetcher = (request: Request) => Promise<Response>;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function rand(size: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(randomBytes(size));
}

export function uniqueRepo(prefix = 'api'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}/app`;
}

/** A body with no Content-Length, as docker's chunked PATCH sends it. */
export function streamBody(bytes: Uint8Array, chunk = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  [key: string]: unknown;
}

/** Drives the Distribution API the way clients do, for tests. */
export class RegistryClient {
  constructor(readonly fetcher: Fetcher, readonly origin = 'http://registry.test') {}

  url(path: string): string {
    return path.startsWith('http') ? path : this.origin + path;
  }

  send(method: string, path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    const request = new Request(this.url(path), { ...init, method, ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
    return this.fetcher(request);
  }

  async startUpload(repo: string): Promise<string> {
    const response = await this.send('POST', `/v2/${repo}/blobs/uploads/`);
    expect(response.status).toBe(202);
    const location = response.headers.get('location');
    expect(location).toBeTruthy();
    return location!;
  }

  /** Pushes a blob docker-style: POST, one streamed PATCH, empty PUT. */
  async pushBlob(repo: string, bytes: Uint8Array): Promise<Descriptor & { location: string }> {
    const digest = sha256(bytes);
    const location = await this.startUpload(repo);
    const patched = await this.send('PATCH', location, { body: streamBody(bytes) });
    expect(patched.status, await bodyText(patched)).toBe(202);
    const put = await this.send('PUT', withQuery(patched.headers.get('location')!, { digest }));
    expect(put.status, await bodyText(put)).toBe(201);
    return { mediaType: OCI_LAYER, digest, size: bytes.byteLength, location: put.headers.get('location')! };
  }

  async putManifest(repo: string, reference: string, body: string | Uint8Array<ArrayBuffer>, contentType: string): Promise<Response> {
    return this.send('PUT', `/v2/${repo}/manifests/${reference}`, { body, headers: { 'Content-Type': contentType } });
  }

  /** Pushes a config and a layer, then an image manifest tagged `tag`. */
  async pushImage(repo: string, tag: string, options: { layers?: number; extra?: Record<string, unknown>; mediaType?: string } = {}) {
    const config = await this.pushBlob(repo, new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: Math.random() })));
    const layers: Descriptor[] = [];
    for (let i = 0; i < (options.layers ?? 1); i++) {
      const layer = await this.pushBlob(repo, rand(1000 + i));
      layers.push({ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size });
    }
    const mediaType = options.mediaType ?? OCI_MANIFEST;
    const manifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: mediaType === OCI_MANIFEST ? OCI_CONFIG : 'application/vnd.docker.container.image.v1+json', digest: config.digest, size: config.size },
      layers,
      ...options.extra,
    };
    const body = JSON.stringify(manifest);
    const response = await this.putManifest(repo, tag, body, mediaType);
    expect(response.status, await bodyText(response)).toBe(201);
    return { digest: sha256(body), body, size: Buffer.byteLength(body), manifest, config, layers, mediaType };
  }
}

export function withQuery(location: string, params: Record<string, string>): string {
  const url = new URL(location, 'http://registry.test');
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return location.startsWith('http') ? url.toString() : url.pathname + url.search;
}

export async function bodyText(response: Response): Promise<string> {
  return response.clone().text();
}

/** Asserts a spec error response: status, JSON body with the code. */
export async function expectError(response: Response, status: number, code: string): Promise<{ code: string; message: string; detail: unknown }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string; detail: unknown }> };
  expect(body.errors[0]?.code, text).toBe(code);
  expect(body.errors[0]?.message).toBeTruthy();
  expect(text).not.toMatch(/\bat .*\.ts:\d+/); // never a stack trace
  return body.errors[0]!;
}
