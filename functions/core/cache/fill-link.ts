import { capabilityParam, type CapabilitySigner } from '../capability';
import type { Clock } from '../ports';

/** The query parameter of a fill link's capability (as upload Locations carry theirs). */
const CAPABILITY_PARAM = '_state';

/** A fill's capability is an upload capability whose session names the blob. */
function fillSession(digest: string): string {
  return `fill:${digest}`;
}

/**
 * Links to the fill host (the upload endpoint on AWS): `<origin>/v2/<name>/_nimbus/fill/<digest>`
 * with a capability signed by the key upload Locations use, bound to the repository and blob, so
 * a client that follows the redirect without Authorization (as docker does across hosts) may
 * fill exactly that blob there, for `ttlSeconds`.
 */
export function fillLinks(origin: string, signer: CapabilitySigner, clock: Clock, ttlSeconds: number) {
  return async (repository: string, digest: string, subject: string | undefined): Promise<string> => {
    const expires = Math.floor(clock.now() / 1000) + ttlSeconds;
    const capability = await signer.sign({ session: fillSession(digest), repository, expires, ...(subject !== undefined ? { subject } : {}) });
    return `${origin}/v2/${repository}/_nimbus/fill/${digest}?${CAPABILITY_PARAM}=${capability}`;
  };
}

/** Whether a request to the fill route carries a valid capability for this repository and blob. */
export async function fillLinkValid(url: URL, signer: CapabilitySigner, clock: Clock, repository: string, digest: string): Promise<boolean> {
  const check = await signer.verify(capabilityParam(url, CAPABILITY_PARAM), { session: fillSession(digest), repository }, Math.floor(clock.now() / 1000));
  return check.ok;
}
