/**
 * Images for garbage collection tests, pushed and pulled over the Distribution API (in-process
 * registry.fetch or a real server). Pushes never assert: under a collector running with a
 * zero safety window a push may lose a race (MANIFEST_BLOB_UNKNOWN) and is then retried, as
 * clients do; what a test asserts is what was stored and kept.
 */
import { createHash, randomBytes } from 'node:crypto';

export type Fetcher = (request: Request) => Promise<Response>;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface TestBlob {
  readonly digest: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

export interface TestImage {
  readonly repository: string;
  readonly tag: string;
  readonly blobs: readonly TestBlob[];
  readonly manifest: string;
  readonly digest: string;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function testBlob(size = 512): TestBlob {
  const bytes = new Uint8Array(randomBytes(size));
  return { digest: sha256(bytes), bytes };
}

/** An image manifest whose config is blobs[0] and layers the rest. */
export function testImage(repository: string, tag: string, blobs: readonly TestBlob[], subject?: { digest: string; size: number }): TestImage {
  const descriptor = (blob: TestBlob, mediaType: string) => ({ mediaType, digest: blob.digest, size: blob.bytes.byteLength });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptor(blobs[0]!, 'application/vnd.oci.image.config.v1+json'),
    layers: blobs.slice(1).map((blob) => descriptor(blob, 'application/vnd.oci.image.layer.v1.tar+gzip')),
    ...(subject ? { subject: { mediaType: OCI_MANIFEST, ...subject }, artifactType: 'application/vnd.example.signature' } : {}),
  });
  return { repository, tag, blobs, manifest, digest: sha256(manifest) };
}

export class GcTestClient {
  constructor(private readonly fetcher: Fetcher, private readonly origin = 'http://registry.test', private readonly headers: Record<string, string> = {}) {}

  send(method: string, path: string, init: { body?: Uint8Array<ArrayBuffer> | string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(path, this.origin);
    return this.fetcher(new Request(url, { method, ...(init.body !== undefined ? { body: init.body } : {}), headers: { ...this.headers, ...init.headers } }));
  }

  /** Monolithic upload (POST, PUT ?digest=); the status of the PUT. */
  async uploadBlob(repository: string, blob: TestBlob): Promise<number> {
    const started = await this.send('POST', `/v2/${repository}/blobs/uploads/`);
    await started.body?.cancel();
    if (started.status !== 202) return started.status;
    const location = new URL(started.headers.get('location')!, this.origin);
    location.searchParams.set('digest', blob.digest);
    const put = await this.send('PUT', location.toString(), { body: blob.bytes, headers: { 'content-type': 'application/octet-stream' } });
    await put.body?.cancel();
    return put.status;
  }

  async putManifest(image: TestImage, reference: string = image.tag): Promise<number> {
    const response = await this.send('PUT', `/v2/${image.repository}/manifests/${reference}`, { body: image.manifest, headers: { 'content-type': OCI_MANIFEST } });
    await response.body?.cancel();
    return response.status;
  }

  /** Uploads every blob then the manifest, retrying a push that lost a race with the collector. */
  async pushImage(image: TestImage, attempts = 5): Promise<boolean> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const uploads = await Promise.all(image.blobs.map((blob) => this.uploadBlob(image.repository, blob)));
      if (uploads.some((status) => status !== 201)) continue;
      if ((await this.putManifest(image)) === 201) return true;
    }
    return false;
  }

  /** As docker pushes: HEAD each blob, upload those missing, then the manifest; retried like pushImage. */
  async pushImageSkippingExisting(image: TestImage, attempts = 5): Promise<boolean> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const statuses = await Promise.all(image.blobs.map(async (blob) => {
        const head = await this.send('HEAD', `/v2/${image.repository}/blobs/${blob.digest}`);
        await head.body?.cancel();
        return head.status === 200 ? 201 : this.uploadBlob(image.repository, blob);
      }));
      if (statuses.some((status) => status !== 201)) continue;
      if ((await this.putManifest(image)) === 201) return true;
    }
    return false;
  }

  async deleteManifest(repository: string, digest: string): Promise<number> {
    const response = await this.send('DELETE', `/v2/${repository}/manifests/${digest}`);
    await response.body?.cancel();
    return response.status;
  }

  /** The bytes GET answers, or the status when it is not 200. */
  async getBlob(repository: string, digest: string): Promise<Uint8Array | number> {
    const response = await this.send('GET', `/v2/${repository}/blobs/${digest}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      return response.status;
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Pulls the image by tag: its manifest and every blob, byte for byte; describes the first difference. */
  async pullDifference(image: TestImage): Promise<string | undefined> {
    const response = await this.send('GET', `/v2/${image.repository}/manifests/${image.tag}`, { headers: { accept: OCI_MANIFEST } });
    const body = await response.text();
    if (response.status !== 200) return `${image.repository}:${image.tag} manifest answered ${response.status}`;
    if (body !== image.manifest) return `${image.repository}:${image.tag} manifest differs`;
    for (const blob of image.blobs) {
      const bytes = await this.getBlob(image.repository, blob.digest);
      if (typeof bytes === 'number') return `${image.repository} blob ${blob.digest} answered ${bytes}`;
      if (Buffer.compare(bytes, blob.bytes) !== 0) return `${image.repository} blob ${blob.digest} differs`;
    }
    return undefined;
  }
}
