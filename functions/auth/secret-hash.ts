import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password and robot-secret hashing: scrypt with a per-secret random salt, stored as
 * `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>` so the cost can grow later while old
 * hashes still verify.
 */
const COST = { N: 1 << 14, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, length, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, COST, KEY_LENGTH);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time comparison of `secret` with a stored hash; false for malformed hashes. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every(Number.isSafeInteger)) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(secret, Buffer.from(salt, 'base64url'), cost, expected.length);
  return expected.length > 0 && timingSafeEqual(actual, expected);
}

/** Burns the same time as a real check, so unknown names cannot be told from wrong secrets. */
let dummyHash: Promise<string> | undefined;
export async function verifyAgainstNothing(secret: string): Promise<false> {
  dummyHash ??= hashSecret('nimbus-no-such-principal');
  await verifySecret(secret, await dummyHash);
  return false;
}

/** A robot secret: 32 random bytes, printed once. */
export function generateSecret(): string {
  return `nimbus_${randomBytes(32).toString('base64url')}`;
}
