import type { RequestContext } from '../context';
import { RegistryError } from '../errors';

/**
 * The browser may run only the UI's own script and style, talk only to this origin, and never
 * be framed (clickjacking a delete button). No inline script or style, no third party.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': UI_CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/**
 * GET /ui/ and /ui/<asset>: the browse UI, from memory. Hashed asset names are cached for a
 * year; index.html is revalidated on every load (`no-cache` + ETag, so a 304 when unchanged).
 * Served without a login: the page holds no data; the API calls it makes are authorized.
 */
export async function serveUi(ctx: RequestContext): Promise<Response> {
  const name = ctx.params.asset;
  if (name === undefined) return new Response(null, { status: 308, headers: { Location: '/ui/', 'Content-Length': '0' } });
  const file = name === '' ? 'index.html' : name;
  // Loaded on the first UI request: a registry function that only serves the API never parses the assets.
  const { UI_ASSETS } = await import('../ui/assets.generated');
  // Own keys only: "__proto__" or "constructor" name no file.
  const asset = Object.hasOwn(UI_ASSETS, file) ? UI_ASSETS[file] : undefined;
  if (!asset) throw new RegistryError('UNSUPPORTED', `no such file in the browse UI: ${name.slice(0, 100)}`, { status: 404 });
  const etag = `"${asset.etag}"`;
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ETag: etag,
    'Cache-Control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (matchesEtag(ctx.request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers });
  const body = new TextEncoder().encode(asset.body);
  headers['Content-Type'] = asset.type;
  headers['Content-Length'] = String(body.byteLength);
  return new Response(ctx.request.method === 'HEAD' ? null : body, { status: 200, headers });
}

/** If-None-Match: `*` or a list of (possibly weak) tags (RFC 9110 §13.1.2). */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(',').map((tag) => tag.trim().replace(/^W\//, '')).some((tag) => tag === '*' || tag === etag);
}
