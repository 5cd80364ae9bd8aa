import { fromBase64Url, toBase64Url } from './base64url';

/**
 * Signed upload capabilities. An upload Location carries one in `_state`, so that a PATCH
 * or PUT reaching another host without Authorization (docker drops it across hosts) is
 * still bound to one session of one repository, and only until it expires.
 */
export interface UploadCapability {
  session: string;
  repository: string;
  /** Epoch seconds. */
  expires: number;
  /** Who opened the upload, for audit; undefined when anonymous. */
  subject?: string;
}

export type CapabilityCheck =
  | { ok: true; capability: UploadCapability }
  | { ok: false; reason: 'missing' | 'malformed' | 'bad-signature' | 'expired' | 'wrong-session' };

/**
 * A capability as it stands in the URL's query, undecoded. URLSearchParams would turn %XX
 * escapes and "+" into characters, giving one token many accepted spellings; a capability
 * is plain base64url and never needs escaping. A repeated parameter comes back as all its
 * values as sent (joined by "&"), which is never a valid token. null: absent.
 */
export function capabilityParam(url: URL, name: string): string | null {
  const prefix = `${name}=`;
  const values = url.search.slice(1).split('&').filter((part) => part.startsWith(prefix)).map((part) => part.slice(prefix.length));
  return values.length === 0 ? null : values.join('&');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class CapabilitySigner {
  private readonly key: Promise<CryptoKey>;

  constructor(secret: Uint8Array) {
    if (secret.byteLength < 32) throw new Error('the upload signing secret must be at least 32 bytes');
    this.key = crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async sign(capability: UploadCapability): Promise<string> {
    const payload = toBase64Url(encoder.encode(JSON.stringify({
      s: capability.session, r: capability.repository, e: capability.expires, u: capability.subject,
    })));
    const signature = new Uint8Array(await crypto.subtle.sign('HMAC', await this.key, encoder.encode(payload)));
    return `${payload}.${toBase64Url(signature)}`;
  }

  /** Verifies in constant time (WebCrypto's HMAC verify) and checks scope and expiry. */
  async verify(token: string | null, expected: { session: string; repository: string }, nowSeconds: number): Promise<CapabilityCheck> {
    if (!token) return { ok: false, reason: 'missing' };
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
    const signatureBytes = fromBase64Url(signature);
    if (!signatureBytes) return { ok: false, reason: 'malformed' };
    const valid = await crypto.subtle.verify('HMAC', await this.key, signatureBytes, encoder.encode(payload));
    if (!valid) return { ok: false, reason: 'bad-signature' };
    const decoded = fromBase64Url(payload);
    if (!decoded) return { ok: false, reason: 'malformed' };
    let claims: { s?: unknown; r?: unknown; e?: unknown; u?: unknown };
    try {
      claims = JSON.parse(decoder.decode(decoded)) as typeof claims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof claims.s !== 'string' || typeof claims.r !== 'string' || typeof claims.e !== 'number') return { ok: false, reason: 'malformed' };
    if (claims.s !== expected.session || claims.r !== expected.repository) return { ok: false, reason: 'wrong-session' };
    if (claims.e <= nowSeconds) return { ok: false, reason: 'expired' };
    const capability: UploadCapability = { session: claims.s, repository: claims.r, expires: claims.e };
    if (typeof claims.u === 'string') capability.subject = claims.u;
    return { ok: true, capability };
  }
}
