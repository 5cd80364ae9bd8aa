/**
 * Section 7's worker: a push and a pull of one image through the real Lambda entry, as a
 * chunking client does it through API Gateway (HEAD, then POST, PATCHes of at most
 * OCI-Chunk-Max-Length, PUT; then the manifest), recording every invocation's storage calls.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MAX_LAMBDA_BODY_BYTES } from '../../functions/adapters/apigw/limits';
import { expectStatus, loadLambda, nextTarget, writeResult, type Invocation } from './lambda-harness';

const chunks = Number(process.argv[2] ?? 16);
const repository = 'bench/cost';
const digestOf = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const lambda = await loadLambda();
await lambda.authorize([repository]);
const layer = randomBytes(MAX_LAMBDA_BODY_BYTES * chunks);
const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.byteLength },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(layer), size: layer.byteLength }],
}));

const log: (Invocation & { phase: string })[] = [];
const call = async (phase: string, status: number, method: string, target: string, body?: Uint8Array, headers?: Record<string, string>) => {
  const invocation = expectStatus(await lambda.invoke(method, target, body, headers), status);
  log.push({ ...invocation, phase });
  return invocation;
};
const octets = { 'content-type': 'application/octet-stream' };

// Push: the config blob in one request, the layer in chunks, then the manifest.
await call('push-fixed', 404, 'HEAD', `/v2/${repository}/blobs/${digestOf(config)}`);
await call('push-fixed', 201, 'POST', `/v2/${repository}/blobs/uploads/?digest=${digestOf(config)}`, config, octets);
await call('push-fixed', 404, 'HEAD', `/v2/${repository}/blobs/${digestOf(layer)}`);
let target = nextTarget(await call('push-fixed', 202, 'POST', `/v2/${repository}/blobs/uploads/`));
for (let i = 0; i < chunks; i++) {
  const start = i * MAX_LAMBDA_BODY_BYTES;
  const body = layer.subarray(start, start + MAX_LAMBDA_BODY_BYTES);
  target = nextTarget(await call('push-chunk', 202, 'PATCH', target, body, { ...octets, 'content-range': `${start}-${start + body.byteLength - 1}` }));
}
const url = new URL(target, 'https://nimbus.bench');
url.searchParams.set('digest', digestOf(layer));
await call('push-fixed', 201, 'PUT', `${url.pathname}${url.search}`);
await call('push-fixed', 201, 'PUT', `/v2/${repository}/manifests/v1`, manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });

// Pull: the manifest by tag, then each blob (a redirect to S3, which the client follows).
await call('pull', 200, 'GET', `/v2/${repository}/manifests/v1`);
await call('pull', 307, 'GET', `/v2/${repository}/blobs/${digestOf(config)}`);
await call('pull', 307, 'GET', `/v2/${repository}/blobs/${digestOf(layer)}`);

writeResult({ chunkBytes: MAX_LAMBDA_BODY_BYTES, chunks, layerBytes: layer.byteLength, invocations: log.map(({ headers: _headers, ...rest }) => rest) });
