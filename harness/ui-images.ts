/**
 * Images the browse UI tests and bench push over the HTTP API: tagged images with a real
 * config, a two-platform index and a referrer (an SBOM whose subject is an image).
 */
import { createHash, randomBytes } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SBOM_TYPE = 'application/vnd.example.sbom.v1+json';

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface Pusher {
  base: string;
  /** Extra headers (Authorization) for every request. */
  headers?: Record<string, string>;
  /** How requests are sent: the global fetch, or an in-process registry's. */
  fetch?: (request: Request) => Promise<Response>;
}

function send(pusher: Pusher, path: string, init: RequestInit = {}): Promise<Response> {
  const request = new Request(`${pusher.base}${path}`, { ...init, headers: { ...pusher.headers, ...(init.headers as Record<string, string> | undefined) } });
  return pusher.fetch ? pusher.fetch(request) : fetch(request);
}

export interface Pushed {
  digest: string;
  /** Bytes of its config and layers. */
  size: number;
}

async function check(response: Response, what: string): Promise<void> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
}

export async function pushBlob(pusher: Pusher, repository: string, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = sha256(bytes);
  const response = await send(pusher, `/v2/${repository}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes });
  await check(response, `blob upload to ${repository}`);
  return digest;
}

/** Pushes a manifest under `reference`, or by its digest (untagged) without one. */
export async function pushManifest(pusher: Pusher, repository: string, reference: string | undefined, manifest: object, mediaType: string): Promise<string> {
  const body = new TextEncoder().encode(JSON.stringify(manifest));
  const response = await send(pusher, `/v2/${repository}/manifests/${reference ?? sha256(body)}`, { method: 'PUT', body, headers: { 'Content-Type': mediaType } });
  await check(response, `manifest ${repository}:${reference}`);
  return sha256(body);
}

export interface ImageOptions {
  architecture?: string;
  layerBytes?: number;
  entrypoint?: string[];
  env?: string[];
  labels?: Record<string, string>;
}

/** A one-layer image with a config that names its platform, entrypoint, env and labels. */
export async function pushImage(pusher: Pusher, repository: string, reference: string | undefined, options: ImageOptions = {}): Promise<Pushed> {
  const config = new TextEncoder().encode(JSON.stringify({
    created: '2026-01-02T03:04:05Z', os: 'linux', architecture: options.architecture ?? 'amd64',
    config: { Entrypoint: options.entrypoint ?? ['/bin/app'], Env: options.env ?? ['PATH=/usr/bin'], Labels: options.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: [] },
  }));
  const layer = randomBytes(options.layerBytes ?? 1000);
  const [configDigest, layerDigest] = [await pushBlob(pusher, repository, config), await pushBlob(pusher, repository, layer)];
  const digest = await pushManifest(pusher, repository, reference, {
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.byteLength }],
  }, OCI_MANIFEST);
  return { digest, size: config.byteLength + layer.byteLength };
}

/** An index of an amd64 and an arm64 image (pushed untagged), tagged `reference`. */
export async function pushTwoPlatformIndex(pusher: Pusher, repository: string, reference: string): Promise<Pushed> {
  const amd64 = await pushImage(pusher, repository, undefined, { architecture: 'amd64', layerBytes: 3000 });
  const arm64 = await pushImage(pusher, repository, undefined, { architecture: 'arm64', layerBytes: 5000 });
  const children = [[amd64, 'amd64'], [arm64, 'arm64']] as const;
  const manifests = await Promise.all(children.map(async ([image, architecture]) => {
    const record = await send(pusher, `/v2/${repository}/manifests/${image.digest}`, { headers: { Accept: OCI_MANIFEST } });
    return { mediaType: OCI_MANIFEST, digest: image.digest, size: (await record.arrayBuffer()).byteLength, platform: { os: 'linux', architecture } };
  }));
  const digest = await pushManifest(pusher, repository, reference, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX);
  return { digest, size: amd64.size + arm64.size };
}

/** An SBOM artifact whose subject is `subject` (an OCI 1.1 referrer), pushed by digest. */
export async function pushReferrer(pusher: Pusher, repository: string, subject: string): Promise<string> {
  const subjectBody = await (await send(pusher, `/v2/${repository}/manifests/${subject}`, { headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` } })).arrayBuffer();
  const sbom = new TextEncoder().encode(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'example' }));
  const empty = new TextEncoder().encode('{}');
  const [emptyDigest, sbomDigest] = [await pushBlob(pusher, repository, empty), await pushBlob(pusher, repository, sbom)];
  return pushManifest(pusher, repository, undefined, {
    schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: SBOM_TYPE,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
    layers: [{ mediaType: SBOM_TYPE, digest: sbomDigest, size: sbom.byteLength }],
    subject: { mediaType: OCI_MANIFEST, digest: subject, size: subjectBody.byteLength },
  }, OCI_MANIFEST);
}
