import { createHash } from 'node:crypto';
import { formatBytes, shortDigest } from '../push/progress';
import type { Check, DoctorContext, PushedBlob } from './checks';
import type { Exchange } from './http';
import { seconds } from './observation';
import { CheckFailed, type SendOptions } from './session';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** The OCI empty descriptor's content: an artifact manifest needs no image config. */
const EMPTY_CONFIG = Buffer.from('{}');
const EMPTY_CONFIG_DIGEST = `sha256:${createHash('sha256').update(EMPTY_CONFIG).digest('hex')}`;

function someBlob(ctx: DoctorContext): PushedBlob {
  const pushed = ctx.blobs[0];
  if (!pushed) throw new Error('no blob was pushed');
  return pushed;
}

/** POST ?mount=&from=: links a blob of the scratch repository into a second one. */
export const mountCheck: Check = {
  name: 'cross-repository mount',
  needs: ['login', 'blob'],
  async run(ctx) {
    const { session } = ctx;
    const { digest } = someBlob(ctx);
    const doing = `POST ?mount=${shortDigest(digest)}&from=${ctx.repository} to ${ctx.mountRepository}`;
    const mount = await session.send('POST', `/v2/${ctx.mountRepository}/blobs/uploads/?mount=${digest}&from=${ctx.repository}`);
    if (mount.status === 202) {
      if (mount.headers.location) ctx.ledger.openSession(session.resolve(mount.headers.location));
      throw new CheckFailed(session.observe('registry', doing, mount, { kind: 'mount-not-done', detail: '202 with an upload Location instead of 201' }));
    }
    session.expect(mount, [201], doing, 'registry');
    ctx.ledger.addBlob(ctx.mountRepository, digest);
    const head = session.expect(await session.send('HEAD', `/v2/${ctx.mountRepository}/blobs/${digest}`), [200, 307], `HEAD on the mounted blob in ${ctx.mountRepository}`, 'registry');
    return { detail: `201 in ${seconds(mount.elapsedMs)}, no bytes moved; HEAD in ${ctx.mountRepository} answers ${head.status}` };
  },
};

/** An OCI artifact manifest over the blobs pushed, put by tag and read back by tag and digest. */
export const manifestCheck: Check = {
  name: 'manifest push and pull',
  needs: ['login', 'blob'],
  async run(ctx) {
    const { session } = ctx;
    const config = await session.send('POST', `/v2/${ctx.repository}/blobs/uploads/?digest=${EMPTY_CONFIG_DIGEST}`, {
      headers: { 'content-type': 'application/octet-stream' }, body: () => ({ kind: 'bytes', bytes: EMPTY_CONFIG }),
    });
    session.expect(config, [201], 'POST ?digest= of the empty config blob', 'registry');
    ctx.ledger.addBlob(ctx.repository, EMPTY_CONFIG_DIGEST);
    const bytes = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.nimbus.doctor.v1',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_CONFIG_DIGEST, size: EMPTY_CONFIG.byteLength },
      layers: ctx.blobs.map(({ digest, blob }) => ({ mediaType: 'application/octet-stream', digest, size: blob.size })),
      annotations: { 'org.opencontainers.image.description': 'npx nimbus doctor: scratch artifact, safe to delete' },
    }));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const tag = `doctor-${ctx.runId}`;
    const put = await session.send('PUT', `/v2/${ctx.repository}/manifests/${tag}`, { headers: { 'content-type': OCI_MANIFEST }, body: () => ({ kind: 'bytes', bytes }) });
    session.expect(put, [201], `PUT of a manifest as ${ctx.repository}:${tag}`, 'registry');
    ctx.ledger.manifests.push({ repository: ctx.repository, digest, tag });
    if (put.headers['docker-content-digest'] && put.headers['docker-content-digest'] !== digest) {
      throw new CheckFailed(session.observe('registry', 'PUT of the manifest', put, { kind: 'manifest-changed', detail: `stored as ${put.headers['docker-content-digest']}, sent ${digest}` }));
    }
    const get = session.expect(await session.send('GET', `/v2/${ctx.repository}/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } }), [200], `GET of ${ctx.repository}:${tag}`, 'registry');
    if (get.text !== bytes.toString('utf8')) {
      throw new CheckFailed(session.observe('registry', `GET of ${ctx.repository}:${tag}`, get, { kind: 'manifest-changed', detail: `${get.text.length} bytes came back, ${bytes.byteLength} were put` }));
    }
    const head = session.expect(await session.send('HEAD', `/v2/${ctx.repository}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } }), [200], 'HEAD of the manifest by digest', 'registry');
    return { detail: `PUT ${seconds(put.elapsedMs)}, GET by tag ${seconds(get.elapsedMs)} (same bytes), HEAD by digest ${seconds(head.elapsedMs)}` };
  },
};

/**
 * GET on a blob as clients pull it: the registry answers 307 to a presigned storage URL
 * (deployed) or the bytes (npm start); the redirect is followed without Authorization.
 */
async function pullBlob(ctx: DoctorContext, digest: string, options: SendOptions & { doing: string }): Promise<{ first: Exchange; last: Exchange }> {
  const { session } = ctx;
  // A redirect's own body (if any) is not the blob.
  const { sink } = options;
  const first = await session.send('GET', `/v2/${ctx.repository}/blobs/${digest}`, {
    ...options, ...(sink ? { sink: (chunk: Buffer, status: number) => status !== 307 && sink(chunk, status) } : {}),
  });
  session.expect(first, [200, 206, 307], options.doing, 'registry');
  if (first.status !== 307) return { first, last: first };
  const target = first.headers.location ? session.resolve(first.headers.location) : undefined;
  if (!target) throw new CheckFailed(session.observe('registry', options.doing, first, { kind: 'no-location', detail: '307 without a Location header' }));
  const last = await session.send('GET', target, options);
  session.expect(last, [200, 206], `${options.doing}, following the 307 to ${target.host}`, 'storage');
  return { first, last };
}

/** Pulls beyond this size tell nothing more, and cost egress on a real account (--large's 2 GiB). */
const PULL_MAX_BYTES = 128 * 1024 * 1024;

/** The largest blob pushed (up to 128 MiB), pulled whole (digest checked), then a range of it. */
export const pullCheck: Check = {
  name: 'blob pull (307, Range)',
  needs: ['login', 'blob'],
  async run(ctx) {
    const { session } = ctx;
    const candidates = ctx.blobs.filter((each) => each.blob.size <= PULL_MAX_BYTES);
    const { blob, digest } = (candidates.length ? candidates : ctx.blobs).reduce((largest, each) => (each.blob.size > largest.blob.size ? each : largest));
    const hash = createHash('sha256');
    const meter = ctx.meter(`pulling ${formatBytes(blob.size)}`, blob.size);
    const whole = await pullBlob(ctx, digest, { doing: `GET of blob ${shortDigest(digest)}`, sink: (chunk) => { hash.update(chunk); meter.add(chunk.length); } });
    meter.stop();
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) {
      throw new CheckFailed(session.observe(whole.first === whole.last ? 'registry' : 'storage', 'GET of the blob', whole.last, { kind: 'digest-mismatch', detail: `${whole.last.bytesReceived} bytes hashing to ${shortDigest(got)}, not ${shortDigest(digest)}` }));
    }
    const start = Math.max(0, Math.floor(blob.size / 2) - 32 * 1024);
    const end = Math.min(blob.size, start + 64 * 1024);
    const received: Buffer[] = [];
    const ranged = await pullBlob(ctx, digest, { doing: `GET of blob ${shortDigest(digest)} with Range`, headers: { range: `bytes=${start}-${end - 1}` }, sink: (chunk) => received.push(chunk) });
    const role = ranged.first === ranged.last ? 'registry' : 'storage';
    if (ranged.last.status !== 206) {
      throw new CheckFailed(session.observe(role, 'GET with Range', ranged.last, { kind: 'range-ignored', detail: `${ranged.last.status} with ${formatBytes(ranged.last.bytesReceived)}, not 206` }));
    }
    if (!Buffer.concat(received).equals(await blob.slice(start, end))) {
      throw new CheckFailed(session.observe(role, 'GET with Range', ranged.last, { kind: 'digest-mismatch', detail: `bytes ${start}-${end - 1} differ from what was pushed` }));
    }
    const via = whole.first.status === 307 ? `through the 307 to ${new URL(whole.first.headers.location!, session.options.origin).host} (no Authorization sent there)` : 'served by the registry itself (no redirect)';
    return {
      bytes: blob.size,
      transferMs: whole.last.elapsedMs,
      detail: `${via}; digest verified; Range ${start}-${end - 1} answered 206 with the right bytes (the registry answered in ${seconds(whole.first.answeredAtMs ?? whole.first.elapsedMs)})`,
    };
  },
};
