/**
 * Delivery signatures, as GitHub and Stripe sign theirs: HMAC-SHA256 with the webhook's
 * secret over `<unix seconds>.<body>`, sent as `Nimbus-Signature: t=<seconds>,v1=<hex>`.
 * Receivers recompute it, compare in constant time, and refuse old timestamps (replays).
 */
export const SIGNATURE_HEADER = 'Nimbus-Signature';

const encoder = new TextEncoder();

async function hmacHex(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(payload)));
  return Array.from(mac, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export async function signatureHeader(secret: string, body: string, nowMs: number): Promise<string> {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${await hmacHex(secret, `${t}.${body}`)}`;
}

/** Checks a Nimbus-Signature header: any v1 matches, and t is within `toleranceSeconds` of now. */
export async function verifySignature(secret: string, body: string, header: string, nowMs: number, toleranceSeconds = 300): Promise<boolean> {
  const fields = header.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(fields.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const expected = await hmacHex(secret, `${t}.${body}`);
  return fields.some(([key, value]) => key === 'v1' && value !== undefined && constantTimeEqual(value, expected));
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
