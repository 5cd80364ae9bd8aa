import type { Check, DoctorContext } from './checks';
import type { Exchange } from './http';
import { responder, seconds } from './observation';
import { CheckFailed } from './session';
import { openUpload } from './upload-checks';

/** docker retries a failed layer upload after 5, 10, 15 and 20 s: a cold endpoint has that long. */
export const DOCKER_RETRY_DELAYS_MS = [5_000, 10_000, 15_000, 20_000];

/** An upload POST this much slower than GET /v2/ (and over 2 s) waited for the endpoint to start. */
const COLD_FACTOR = 5;
const COLD_MIN_MS = 2_000;
const QUICK_504_MS = 10_000;

/**
 * What a scaled-to-zero endpoint answers while it starts (the load balancer has no healthy
 * target yet): worth docker's retries. A hang, or CloudFront's 504 after its ~30 s of
 * failed connection attempts, is not a start in progress, and is diagnosed at once.
 */
function stillStarting(answer: Exchange): boolean {
  if (answer.failure) return answer.failure.kind === 'refused' || answer.failure.kind === 'reset';
  if (responder(answer) === 'registry') return false;
  return answer.status === 502 || answer.status === 503 || (answer.status === 504 && answer.elapsedMs < QUICK_504_MS);
}

/**
 * The first upload of a push: the POST that wakes a scaled-to-zero upload endpoint, then
 * the first request to it (GET on the Location: where the upload stands, as a resuming
 * client asks). While the endpoint is still starting, doctor retries as docker does.
 */
export const wakeCheck: Check = {
  name: 'first upload (wake)',
  needs: ['login'],
  async run(ctx) {
    const { session } = ctx;
    let firstPost: Exchange | undefined;
    for (let retry = 0; ; retry++) {
      const { location, post } = await openUpload(ctx);
      firstPost ??= post;
      const status = await session.send('GET', location);
      if (status.status === 204 || !stillStarting(status) || retry >= DOCKER_RETRY_DELAYS_MS.length) {
        session.expect(status, [204], `GET on the upload Location (the first request to ${location.host}), after the upload POST took ${seconds(post.elapsedMs)}`);
        const cancel = await session.send('DELETE', location);
        if (cancel.status === 204) ctx.ledger.closeSession(location);
        return describeWake(ctx, firstPost, location, retry);
      }
      await ctx.sleep(DOCKER_RETRY_DELAYS_MS[retry]!);
    }
  },
};

function describeWake(ctx: DoctorContext, post: Exchange, location: URL, retries: number): { status: 'ok' | 'warn'; detail: string } {
  const postTime = `the upload POST answered in ${seconds(post.elapsedMs)}`;
  if (ctx.session.onRegistryHost(location)) {
    return { status: 'ok', detail: `${postTime}; upload Locations point at the registry itself (no separate upload endpoint to wake)` };
  }
  const cold = retries > 0 || (post.elapsedMs >= COLD_MIN_MS && post.elapsedMs >= COLD_FACTOR * ctx.baselineMs);
  if (!cold) return { status: 'ok', detail: `warm: ${postTime} (GET /v2/ takes ${seconds(ctx.baselineMs)}); the upload endpoint is ${location.host}` };
  const woke = `cold: ${postTime}, waiting while the registry started the upload endpoint at ${location.host}`;
  if (retries === 0) return { status: 'ok', detail: woke };
  return {
    status: 'warn',
    detail: `${woke}; it answered only after ${retries} retr${retries === 1 ? 'y' : 'ies'} at docker's intervals (5, 10, 15, 20 s): docker's first attempt fails and its retries carry the push`,
  };
}

/** A forged copy of a capability: one character in its middle changed. */
function forge(location: URL): URL {
  const forged = new URL(location);
  const state = forged.searchParams.get('_state') ?? '';
  let at = Math.floor(state.length / 2);
  if (state[at] === '.') at++;
  forged.searchParams.set('_state', `${state.slice(0, at)}${state[at] === 'A' ? 'B' : 'A'}${state.slice(at + 1)}`);
  return forged;
}

/**
 * The upload Location, followed as docker follows it: Authorization only to the registry's
 * own host. The endpoint must take the capability in the Location instead, and refuse a
 * forged one (it is the only thing guarding upload sessions on another host).
 */
export const locationCheck: Check = {
  name: 'upload Location',
  needs: ['login', 'upload-host'],
  async run(ctx) {
    const { session } = ctx;
    const { location } = await openUpload(ctx);
    const own = session.onRegistryHost(location);
    const forged = await session.send('GET', forge(location));
    if (forged.status !== undefined && forged.status < 300) {
      throw new CheckFailed(session.observe(session.roleOf(location), 'GET on the upload Location with a forged capability', forged,
        { kind: 'forged-capability-accepted', detail: `answered ${forged.status}` }));
    }
    session.expect(forged, [401, 403, 404], 'GET on the upload Location with a forged capability');
    session.expect(await session.send('GET', location), [204], 'GET on the upload Location');
    session.expect(await session.send('DELETE', location), [204], 'DELETE on the upload Location (cancelling the upload)');
    ctx.ledger.closeSession(location);
    const refused = `a forged capability is refused (${forged.status})`;
    if (own) return { detail: `on the registry's own host: Authorization sent, as docker does; ${refused}` };
    const plain = location.protocol === 'http:' && session.options.origin.protocol === 'https:';
    return {
      status: plain ? 'warn' : 'ok',
      detail: `on ${location.host}, another host: followed without Authorization, as docker does; ${refused}`
        + (plain ? '; but it is plain HTTP while the registry is HTTPS: layers would travel unencrypted' : ''),
    };
  },
};
