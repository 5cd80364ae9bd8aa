import { formatBytes } from '../push/progress';
import { SeededBlob } from './bodies';
import { MiB, type Check, type DoctorContext } from './checks';
import type { Exchange } from './http';
import { seconds } from './observation';
import { CheckFailed } from './session';

/** POST /v2/<name>/blobs/uploads/: a session and its Location, or the check fails. */
export async function openUpload(ctx: DoctorContext, repository = ctx.repository): Promise<{ location: URL; post: Exchange }> {
  const { session } = ctx;
  const post = session.expect(await session.send('POST', `/v2/${repository}/blobs/uploads/`), [202], 'the upload POST', 'registry');
  if (!post.headers.location) {
    throw new CheckFailed(session.observe('registry', 'the upload POST', post, { kind: 'no-location', detail: '202 without a Location header' }));
  }
  const location = session.resolve(post.headers.location);
  ctx.ledger.openSession(location);
  return { location, post };
}

/** The Location an upload answer points to next (the same one, when it names none). */
function nextLocation(ctx: DoctorContext, answer: Exchange, current: URL): URL {
  const next = answer.headers.location ? ctx.session.resolve(answer.headers.location) : current;
  ctx.ledger.openSession(next);
  return next;
}

interface Streamed {
  post: Exchange;
  patch: Exchange;
  put: Exchange;
}

/**
 * docker's and skopeo's way: one PATCH carrying the whole blob, generated and hashed as it
 * streams (chunked, or with Content-Length), then an empty PUT ?digest= that closes it.
 */
async function pushStreamed(ctx: DoctorContext, blob: SeededBlob, sized: boolean, title: string): Promise<Streamed> {
  const { session } = ctx;
  const { location, post } = await openUpload(ctx);
  let stream = blob.hashedStream();
  const meter = ctx.meter(title, blob.size);
  const patch = await session.send('PATCH', location, {
    headers: { 'content-type': 'application/octet-stream' },
    body: () => {
      stream = blob.hashedStream();
      return { kind: 'stream', length: blob.size, sized, chunks: stream.chunks };
    },
    onBytesSent: (delta) => meter.add(delta),
  });
  meter.stop();
  const doing = `PATCH (${sized ? 'Content-Length' : 'Transfer-Encoding: chunked'}, ${formatBytes(blob.size)}) to the upload Location, after the upload POST took ${seconds(post.elapsedMs)}`;
  session.expect(patch, [202], doing);
  const closing = nextLocation(ctx, patch, location);
  closing.searchParams.set('digest', stream.digest());
  const put = session.expect(await session.send('PUT', closing), [201], 'the empty PUT ?digest= that closes the upload');
  ctx.ledger.closeSession(closing);
  ctx.ledger.addBlob(ctx.repository, stream.digest());
  ctx.blobs.push({ blob, digest: stream.digest() });
  return { post, patch, put };
}

function streamedCheck(size: number, sized: boolean): Check {
  const name = `${sized ? 'sized' : 'chunked'} PATCH ${formatBytes(size)}`;
  return {
    name,
    needs: ['login', 'upload-host'],
    async run(ctx) {
      const blob = new SeededBlob(`${ctx.runId}/${name}`, size);
      const { post, patch, put } = await pushStreamed(ctx, blob, sized, name);
      const answer = (patch.answeredAtMs ?? patch.elapsedMs) - (patch.bodySentAtMs ?? 0);
      return {
        bytes: size,
        transferMs: patch.elapsedMs,
        detail: `${sized ? 'as skopeo' : 'as docker, podman, buildah'}: PATCH ${seconds(patch.elapsedMs)}, answered ${seconds(answer)} after its last byte; `
          + `POST ${seconds(post.elapsedMs)}, PUT ?digest= ${seconds(put.elapsedMs)}`,
      };
    },
  };
}

/** containerd, buildx, oras: POST, then the whole blob in the PUT ?digest= to the Location. */
function monolithicPutCheck(size: number): Check {
  const name = `monolithic PUT ${formatBytes(size)}`;
  return {
    name,
    needs: ['login', 'upload-host'],
    async run(ctx) {
      const { session } = ctx;
      const blob = new SeededBlob(`${ctx.runId}/${name}`, size);
      const digest = await blob.digest();
      const { location, post } = await openUpload(ctx);
      const target = new URL(location);
      target.searchParams.set('digest', digest);
      const meter = ctx.meter(name, size);
      const put = await session.send('PUT', target, {
        headers: { 'content-type': 'application/octet-stream' },
        body: () => ({ kind: 'stream', length: size, sized: true, chunks: blob.chunks() }),
        onBytesSent: (delta) => meter.add(delta),
      });
      meter.stop();
      session.expect(put, [201], `PUT ?digest= with the whole ${formatBytes(size)} blob to the upload Location (as containerd and oras)`);
      ctx.ledger.closeSession(location);
      ctx.ledger.addBlob(ctx.repository, digest);
      ctx.blobs.push({ blob, digest });
      return { bytes: size, transferMs: put.elapsedMs, detail: `as containerd, buildx, oras: PUT ${seconds(put.elapsedMs)}, POST ${seconds(post.elapsedMs)}` };
    },
  };
}

/** One request with the whole blob: POST ?digest=. It goes through the registry's own host. */
function monolithicPostCheck(size: number): Check {
  const name = `monolithic POST ${formatBytes(size)}`;
  return {
    name,
    needs: ['login'],
    async run(ctx) {
      const { session } = ctx;
      const blob = new SeededBlob(`${ctx.runId}/${name}`, size);
      const digest = await blob.digest();
      const post = await session.send('POST', `/v2/${ctx.repository}/blobs/uploads/?digest=${digest}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: () => ({ kind: 'stream', length: size, sized: true, chunks: blob.chunks() }),
      });
      session.expect(post, [201], `POST ?digest= with the whole ${formatBytes(size)} blob`, 'registry');
      ctx.ledger.addBlob(ctx.repository, digest);
      ctx.blobs.push({ blob, digest });
      return { bytes: size, transferMs: post.elapsedMs, detail: 'one request to the registry\'s own host (small blobs, configs)' };
    },
  };
}

export interface UploadCheckSizes {
  chunked: number[];
  sized: number;
  monolithicPost: number;
  monolithicPut: number;
}

export const DEFAULT_SIZES: UploadCheckSizes = { chunked: [MiB, 100 * MiB], sized: 32 * MiB, monolithicPost: MiB, monolithicPut: 32 * MiB };
export const LARGE_SIZE = 2 * 1024 * MiB;

export function uploadChecks(sizes: UploadCheckSizes): Check[] {
  return [
    ...sizes.chunked.map((size) => streamedCheck(size, false)),
    streamedCheck(sizes.sized, true),
    monolithicPostCheck(sizes.monolithicPost),
    monolithicPutCheck(sizes.monolithicPut),
  ];
}
