import { z } from 'zod';
import { CliError } from '../errors';
import { backoffDelay, sleep } from './concurrency';
import { putFileRange, storageErrorCode } from './part-put';
import { formatBytes, shortDigest } from './progress';
import { RegistryResponseError } from './registry-client';
import type { UploadContext } from './upload-context';
import type { BlobFile } from './source/model';

const partUrls = z.array(z.object({ number: z.number().int().positive(), url: z.string() }));
const started = z.object({ id: z.string(), state: z.string(), partSize: z.number().int().positive(), partCount: z.number().int().nonnegative(), parts: partUrls });
type Started = z.infer<typeof started>;

/** Storage answers that a later attempt may not get (S3 RequestTimeout comes as 400). */
const RETRYABLE_STORAGE_CODES = new Set(['RequestTimeout', 'SlowDown', 'InternalError', 'ServiceUnavailable']);

/** Thrown when the registry found other bytes than the digest promised. */
export class DigestRejectedError extends CliError {}

/** Thrown when verification outlasts --verify-timeout; the upload is left to finish. */
class VerificationPendingError extends CliError {}

/**
 * The direct lane (a Nimbus extension): the registry plans the parts and presigns a URL
 * for each, the parts go straight to storage in parallel, then the registry assembles
 * them and hashes every byte before the blob becomes visible.
 * Returns false when the registry does not offer the extension.
 */
export async function uploadDirect(ctx: UploadContext, blob: BlobFile): Promise<boolean> {
  const { registry } = ctx;
  const response = await registry.send('POST', registry.path('/_nimbus/direct-uploads'), {
    body: JSON.stringify({ digest: blob.digest, size: blob.size }), headers: { 'content-type': 'application/json' },
  });
  if ([404, 405, 501].includes(response.status)) {
    await response.body?.cancel();
    return false;
  }
  if (response.status === 200) {
    await response.body?.cancel();
    ctx.meter.add(blob.size, shortDigest(blob.digest));
    ctx.progress.line(`${shortDigest(blob.digest)}: already in ${registry.ref.repository}`);
    return true;
  }
  if (response.status !== 201) await registry.fail(response, `starting the direct upload of ${blob.digest}`);
  const plan = await parseAnswer(response, started, 'the start of a direct upload');
  const statusPath = registry.path(`/_nimbus/direct-uploads/${encodeURIComponent(plan.id)}`);
  ctx.progress.line(`${shortDigest(blob.digest)}: uploading ${formatBytes(blob.size)} in ${plan.partCount === 1 ? '1 part' : `${plan.partCount} parts of ${formatBytes(plan.partSize)}`}, ${ctx.parallel} at a time`);
  try {
    const urls = new PartUrls(ctx, statusPath, plan);
    const parts = await allOrFirstFailure(Array.from({ length: plan.partCount }, (_, i) => (stop: () => boolean) => ctx.parts.run(async () => {
      if (stop()) throw new Skipped();
      return uploadPart(ctx, blob, plan, urls, i + 1);
    })));
    await complete(ctx, blob, statusPath, parts);
  } catch (error) {
    // Free the storage the parts took; a digest failure has already been cleaned up by the
    // registry, and a verification still running may yet succeed.
    if (!(error instanceof DigestRejectedError || error instanceof VerificationPendingError)) {
      await registry.send('DELETE', statusPath).then((r) => r.body?.cancel(), () => undefined);
    }
    throw error;
  }
  return true;
}

class Skipped extends Error {}

async function parseAnswer<T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new CliError(`the registry's answer to ${what} is not what the direct-upload extension specifies`);
  return parsed.data;
}

/**
 * Runs every task; after the first failure the tasks not yet started are skipped, and
 * the failure is thrown once the ones in flight have finished (so cleanup sees no stragglers).
 */
async function allOrFirstFailure<T>(tasks: Array<(stop: () => boolean) => Promise<T>>): Promise<T[]> {
  let failed = false;
  const settled = await Promise.allSettled(tasks.map((task) => task(() => failed).catch((error: unknown) => {
    failed = true;
    throw error;
  })));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected' && !(result.reason instanceof Skipped));
  if (failure) throw failure.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** Presigned URLs by part number, fetched a hundred at a time and renewed when they expire. */
class PartUrls {
  private readonly urls = new Map<number, string>();
  private readonly pending = new Map<number, Promise<void>>();

  constructor(private readonly ctx: UploadContext, private readonly statusPath: string, plan: Started) {
    for (const part of plan.parts) this.urls.set(part.number, part.url);
  }

  async get(number: number, fresh = false): Promise<string> {
    if (fresh) this.urls.delete(number);
    const known = this.urls.get(number);
    if (known) return known;
    await this.fetch(fresh ? number : number - ((number - 1) % 100), fresh ? 1 : 100);
    const url = this.urls.get(number);
    if (!url) throw new CliError(`the registry gave no upload URL for part ${number}`);
    return url;
  }

  private fetch(first: number, count: number): Promise<void> {
    let pending = this.pending.get(first);
    if (!pending) {
      pending = (async () => {
        const { registry } = this.ctx;
        const response = await registry.send('GET', `${this.statusPath}/parts?first=${first}&count=${count}`);
        if (response.status !== 200) await registry.fail(response, `getting upload URLs for parts ${first}-${first + count - 1}`);
        const { parts } = await parseAnswer(response, z.object({ parts: partUrls }), 'a request for part URLs');
        for (const part of parts) this.urls.set(part.number, part.url);
      })().finally(() => this.pending.delete(first));
      this.pending.set(first, pending);
    }
    return pending;
  }
}

async function uploadPart(ctx: UploadContext, blob: BlobFile, plan: Started, urls: PartUrls, number: number): Promise<{ number: number; etag: string }> {
  const start = (number - 1) * plan.partSize;
  const length = Math.min(plan.partSize, blob.size - start);
  const label = shortDigest(blob.digest);
  let fresh = false;
  let problem = '';
  for (let attempt = 1; attempt <= ctx.backoff.attempts; attempt++) {
    if (attempt > 1) await sleep(backoffDelay(attempt - 2, ctx.backoff));
    const url = await urls.get(number, fresh);
    fresh = false;
    let result;
    try {
      result = await putFileRange(url, blob.path, blob.offset + start, length, (delta) => ctx.meter.add(delta, label));
    } catch (error) {
      problem = (error as Error).message;
      continue;
    }
    if (result.status >= 200 && result.status < 300) {
      if (!result.etag) throw new CliError(`storage accepted part ${number} of ${blob.digest} but sent no ETag header`);
      return { number, etag: result.etag };
    }
    const code = storageErrorCode(result.body);
    problem = `HTTP ${result.status}${code ? ` ${code}` : ''}`;
    // A 403 is most often an expired URL (a slow or stalled push): ask for a new one.
    if (result.status === 403) fresh = true;
    else if (!(result.status >= 500 || result.status === 429 || result.status === 408 || RETRYABLE_STORAGE_CODES.has(code ?? ''))) break;
  }
  throw new CliError(`part ${number} of ${plan.partCount} of ${blob.digest} failed after retries (${problem}); push again to retry`);
}

/** Asks the registry to assemble and verify, then waits for the verdict (202 means verifying in the background). */
async function complete(ctx: UploadContext, blob: BlobFile, statusPath: string, parts: Array<{ number: number; etag: string }>): Promise<void> {
  const { registry } = ctx;
  const label = shortDigest(blob.digest);
  const deadline = Date.now() + ctx.verifyTimeoutMs;
  let response = await registry.send('PUT', statusPath, {
    body: JSON.stringify({ parts }), headers: { 'content-type': 'application/json' }, timeoutMs: ctx.verifyTimeoutMs,
  });
  let delay = 500;
  let announced = false;
  while (response.status === 202) {
    await response.body?.cancel();
    if (!announced) ctx.progress.line(`${label}: uploaded; the registry is verifying its digest`);
    announced = true;
    if (Date.now() + delay > deadline) {
      throw new VerificationPendingError(`${blob.digest} was uploaded but not verified within ${ctx.verifyTimeoutMs / 1000} s; `
        + 'push again later (a verified blob is not uploaded again) or raise --verify-timeout');
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, 5_000);
    response = await registry.send('GET', statusPath);
  }
  if (response.status === 201) {
    await response.body?.cancel();
    ctx.progress.line(`${label}: verified`);
    return;
  }
  try {
    await registry.fail(response, `completing the upload of ${blob.digest}`);
  } catch (error) {
    if (error instanceof RegistryResponseError && error.code === 'DIGEST_INVALID') throw digestRejected(blob, error.registryMessage);
    throw error;
  }
}

export function digestRejected(blob: BlobFile, registryMessage: string): DigestRejectedError {
  return new DigestRejectedError(`DIGEST_INVALID: the registry rejected ${blob.digest}: the bytes uploaded from ${blob.path} do not have that digest, `
    + `so they were deleted and never served (${registryMessage}). The source is damaged or changed during the push: export the image again and push it again.`);
}
