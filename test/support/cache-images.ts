import { createHash, randomBytes } from 'node:crypto';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MANIFEST_ACCEPT = [OCI_MANIFEST, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

export interface PushedImage {
  digest: string;
  /** Config and layers. */
  blobs: Array<{ digest: string; size: number }>;
}

function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function ok(response: Response, what: string): Promise<Response> {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

/** Pushes one blob as clients do: POST for a Location, then PUT ?digest= with the bytes. */
export async function pushBlob(url: string, repository: string, bytes: Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha256(bytes);
  const start = await ok(await fetch(`${url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers }), `upload start in ${repository}`);
  await start.body?.cancel();
  const location = new URL(start.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const put = await ok(await fetch(location, {
    method: 'PUT', body: bytes, headers: { ...headers, 'content-type': 'application/octet-stream' },
  }), `blob PUT in ${repository}`);
  await put.body?.cancel();
  return digest;
}

/** Pushes an image of random layers of the given sizes (and a small config) under `tag`. */
export async function pushImage(url: string, repository: string, tag: string, layerSizes: number[], headers: Record<string, string> = {}): Promise<PushedImage> {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const configDigest = await pushBlob(url, repository, config, headers);
  const layers: Array<{ digest: string; size: number }> = [];
  layers.push(...await Promise.all(layerSizes.map(async (size) => ({ digest: await pushBlob(url, repository, new Uint8Array(randomBytes(size)), headers), size }))));
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.byteLength },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })),
  });
  const put = await ok(await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { ...headers, 'content-type': OCI_MANIFEST },
  }), `manifest PUT ${repository}:${tag}`);
  await put.body?.cancel();
  return { digest: sha256(manifest), blobs: [{ digest: configDigest, size: config.byteLength }, ...layers] };
}

export interface Pulled {
  digest: string;
  /** Blob bytes received, in all. */
  bytes: number;
}

/** Pulls an image as a client does: the manifest by tag, then its config and layers, all at once. */
export async function pullImage(url: string, repository: string, reference: string, options: { verify?: boolean; headers?: Record<string, string> } = {}): Promise<Pulled> {
  const headers = { ...options.headers };
  const response = await ok(await fetch(`${url}/v2/${repository}/manifests/${reference}`, { headers: { ...headers, accept: MANIFEST_ACCEPT } }), `manifest ${repository}:${reference}`);
  const body = new Uint8Array(await response.arrayBuffer());
  const manifest = JSON.parse(new TextDecoder().decode(body)) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
  const sizes = await Promise.all([manifest.config, ...manifest.layers].map(async (blob) => {
    const got = await ok(await fetch(`${url}/v2/${repository}/blobs/${blob.digest}`, { headers }), `blob ${blob.digest}`);
    const hash = options.verify ? createHash('sha256') : undefined;
    let size = 0;
    for await (const chunk of got.body! as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      hash?.update(chunk);
    }
    if (size !== blob.size) throw new Error(`blob ${blob.digest}: ${size} bytes, not ${blob.size}`);
    if (hash && `sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`blob ${blob.digest}: wrong content`);
    return size;
  }));
  return { digest: sha256(body), bytes: sizes.reduce((a, b) => a + b, 0) };
}
