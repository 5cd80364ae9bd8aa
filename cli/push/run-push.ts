import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { CliError } from '../errors';
import { readStdin } from '../io';
import { blobExists, uploadBlob } from './blob-upload';
import { DEFAULT_BACKOFF, Limiter } from './concurrency';
import { closeStorageConnections } from './part-put';
import { resolveCredentials } from './credentials';
import { createProgress, formatBytes, shortDigest, type ProgressMode } from './progress';
import { describeReference, parseReference } from './reference';
import { RegistryClient } from './registry-client';
import { openSource } from './source/open-source';
import type { BlobFile, ManifestDocument } from './source/model';
import type { UploadContext } from './upload-context';

export interface PushOptions {
  registry?: string;
  plainHttp?: boolean;
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  sourceTag?: string;
  platform?: string;
  parallel: number;
  /** Seconds. */
  verifyTimeout: number;
  progress: ProgressMode;
}

/** `nimbus push SOURCE REF`: reads the image, uploads the blobs the repository lacks, puts the manifests. */
export async function runPush(source: string, refText: string, options: PushOptions): Promise<void> {
  const ref = parseReference(refText, options);
  if (options.passwordStdin && source === '-') {
    throw new CliError('stdin cannot carry both the image and the password: set NIMBUS_USERNAME and NIMBUS_PASSWORD instead of --password-stdin');
  }
  const password = options.passwordStdin ? await readStdin('password') : undefined;
  const credentials = await resolveCredentials(ref.host, { ...(options.username ? { username: options.username } : {}), ...(password ? { password } : {}) });
  if (options.insecure) {
    // Node's TLS reads this per connection: it covers the registry and the storage URLs alike.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  }
  const progress = createProgress(options.progress);
  if (options.insecure) progress.line('warning: --insecure: TLS certificates are not verified');
  const tempDirs = new Set<string>();
  const removeOnSignal = () => {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    progress.close();
    process.exit(130);
  };
  process.once('SIGINT', removeOnSignal);
  process.once('SIGTERM', removeOnSignal);
  try {
    const { plan } = await openSource(source, {
      ...(options.sourceTag ? { sourceTag: options.sourceTag } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      ...(ref.reference.includes(':') ? {} : { destinationTag: ref.reference }),
    }, progress, (dir) => tempDirs.add(dir));
    progress.line(`read ${plan.summary}`);
    const top = plan.manifests.at(-1)!;
    if (ref.reference.includes(':') && ref.reference !== top.digest) {
      throw new CliError(`REF names digest ${ref.reference}, but the image's manifest is ${top.digest}: push to a tag, or to @${top.digest}`);
    }
    const registry = new RegistryClient(ref, credentials);
    await checkRegistry(registry);
    const ctx: UploadContext = {
      registry, progress, meter: { add() {}, stop() {} }, parts: new Limiter(options.parallel), parallel: options.parallel,
      backoff: DEFAULT_BACKOFF, verifyTimeoutMs: options.verifyTimeout * 1000,
    };
    await uploadMissingBlobs(ctx, plan.blobs, options.parallel);
    for (const manifest of plan.manifests) await putManifest(registry, manifest, manifest === top ? ref.reference : manifest.digest);
    progress.line(`pushed ${describeReference(ref, top.digest)}`);
    progress.close();
    process.stdout.write(`${top.digest}\n`);
  } catch (error) {
    progress.close();
    throw error;
  } finally {
    closeStorageConnections();
    process.off('SIGINT', removeOnSignal);
    process.off('SIGTERM', removeOnSignal);
    await Promise.all([...tempDirs].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** GET /v2/ first: a wrong host, scheme or login fails here, before any upload. */
async function checkRegistry(registry: RegistryClient): Promise<void> {
  const response = await registry.send('GET', '/v2/');
  await response.body?.cancel();
  if (response.status === 200) return;
  if (response.status === 404) throw new CliError(`${registry.ref.origin} is not an OCI registry (GET /v2/ answered 404)`);
  await registry.fail(response, 'checking the registry');
}

async function uploadMissingBlobs(ctx: UploadContext, blobs: BlobFile[], parallel: number): Promise<void> {
  const blobLimiter = new Limiter(parallel);
  const present = await Promise.all(blobs.map((blob) => blobLimiter.run(() => blobExists(ctx, blob.digest))));
  const missing = blobs.filter((_, i) => !present[i]);
  const total = missing.reduce((sum, blob) => sum + blob.size, 0);
  const skipped = blobs.length - missing.length;
  ctx.progress.line(`${missing.length} of ${blobs.length} blobs to upload (${formatBytes(total)})${skipped ? `; ${skipped} already in ${ctx.registry.ref.repository}` : ''}`);
  if (missing.length === 0) return;
  ctx.meter = ctx.progress.meter('uploading', total);
  try {
    await Promise.all(missing.map((blob) => blobLimiter.run(() => uploadBlob(ctx, blob))));
  } finally {
    ctx.meter.stop();
  }
}

async function putManifest(registry: RegistryClient, manifest: ManifestDocument, reference: string): Promise<void> {
  const response = await registry.send('PUT', registry.path(`/manifests/${reference}`), {
    body: manifest.bytes, headers: { 'content-type': manifest.mediaType },
  });
  if (response.status !== 201) await registry.fail(response, `putting the manifest ${shortDigest(manifest.digest)} as ${reference}`);
  await response.body?.cancel();
  const digest = response.headers.get('docker-content-digest');
  if (digest && digest !== manifest.digest) {
    throw new CliError(`the registry stored the manifest as ${digest}, not ${manifest.digest}: it changed the bytes`);
  }
}

