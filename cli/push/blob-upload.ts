import { CliError } from '../errors';
import { digestRejected, uploadDirect } from './direct-upload';
import { formatBytes, shortDigest } from './progress';
import { RegistryResponseError } from './registry-client';
import type { UploadContext } from './upload-context';
import { readSlice, type BlobFile } from './source/model';

/**
 * Blobs up to this size go in one request through the Distribution API (configs, small
 * layers); larger ones take the direct lane. Base64-encoded into a Lambda event it stays
 * under Lambda's 6 MB request limit, and it is below S3's 5 MiB minimum part size.
 */
export const SMALL_BLOB_MAX = 4 * 1024 * 1024;

/** Whether the repository can already serve the blob (HEAD may answer by redirecting to storage). */
export async function blobExists(ctx: UploadContext, digest: string): Promise<boolean> {
  const response = await ctx.registry.send('HEAD', ctx.registry.path(`/blobs/${digest}`));
  await response.body?.cancel();
  if (response.status === 200 || (response.status >= 300 && response.status < 400)) return true;
  if (response.status === 404) return false;
  return ctx.registry.fail(response, `checking for ${digest}`);
}

export async function uploadBlob(ctx: UploadContext, blob: BlobFile): Promise<void> {
  if (blob.size <= SMALL_BLOB_MAX) return ctx.parts.run(() => uploadSmall(ctx, blob));
  if (await uploadDirect(ctx, blob)) return;
  throw new CliError(`${ctx.registry.ref.host} does not support direct uploads (the Nimbus extension /v2/<name>/_nimbus/direct-uploads), `
    + `which nimbus push needs for blobs over ${formatBytes(SMALL_BLOB_MAX)} such as ${blob.digest} (${formatBytes(blob.size)}). `
    + 'Its storage may not take them (a registry on local disk), or it is not a Nimbus registry: push with docker push or skopeo copy instead.');
}

/** POST ?digest= with the whole body, or POST then PUT for registries without monolithic uploads. */
async function uploadSmall(ctx: UploadContext, blob: BlobFile): Promise<void> {
  const { registry } = ctx;
  const body = await readSlice(blob);
  if (body.byteLength !== blob.size) throw new CliError(`${blob.path} is ${body.byteLength} bytes, not the ${blob.size} its descriptor says`);
  const headers = { 'content-type': 'application/octet-stream' };
  const doing = `uploading ${blob.digest}`;
  try {
    let response = await registry.send('POST', registry.path(`/blobs/uploads/?digest=${blob.digest}`), { body, headers });
    if (response.status === 202) {
      const location = response.headers.get('location');
      await response.body?.cancel();
      if (!location) throw new CliError(`${doing}: the registry opened an upload without a Location`);
      const url = new URL(location, registry.ref.origin);
      url.searchParams.set('digest', blob.digest);
      response = await registry.send('PUT', `${url.pathname}${url.search}`, { body, headers });
    }
    if (response.status !== 201) await registry.fail(response, doing);
    await response.body?.cancel();
  } catch (error) {
    if (error instanceof RegistryResponseError && error.code === 'DIGEST_INVALID') throw digestRejected(blob, error.registryMessage);
    throw error;
  }
  ctx.meter.add(blob.size, shortDigest(blob.digest));
  ctx.progress.line(`${shortDigest(blob.digest)}: uploaded (${formatBytes(blob.size)})`);
}
