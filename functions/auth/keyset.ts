import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/**
 * Token signing keys. Each key is Ed25519 (JWT alg EdDSA), derived from a random secret
 * seed, so a key is just a secret: a file with mode 0600 locally, a Secrets Manager secret
 * on AWS. The first key signs; all verify, matched by `kid` (the JWK thumbprint), so a
 * rotated-out key keeps verifying the tokens it signed until they expire.
 */
export const TOKEN_ALGORITHM = 'EdDSA';

export interface VerificationKey {
  kid: string;
  publicKey: KeyObject;
}

export interface SigningKey extends VerificationKey {
  privateKey: KeyObject;
}

export class KeySet {
  private readonly byKid: Map<string, VerificationKey>;

  private constructor(readonly signing: SigningKey, verification: VerificationKey[]) {
    this.byKid = new Map(verification.map((key) => [key.kid, key]));
  }

  /** `seeds[0]` signs; the others only verify. Each seed must hold at least 32 random bytes. */
  static async fromSeeds(seeds: readonly Uint8Array[]): Promise<KeySet> {
    if (seeds.length === 0) throw new Error('a key set needs at least one key');
    const keys = await Promise.all(seeds.map(signingKeyFromSeed));
    return new KeySet(keys[0]!, keys);
  }

  /** The key that verifies tokens with this `kid`, or undefined (unknown or retired). */
  verificationKey(kid: string | undefined): VerificationKey | undefined {
    return kid === undefined ? undefined : this.byKid.get(kid);
  }

  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  /** Public keys as a JWKS document, for anyone who wants to verify tokens themselves. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const keys = await Promise.all([...this.byKid.values()].map(async (key) => ({
      ...(await exportJWK(key.publicKey)), kid: key.kid, alg: TOKEN_ALGORITHM, use: 'sig',
    })));
    return { keys };
  }
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows it.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

async function signingKeyFromSeed(seed: Uint8Array): Promise<SigningKey> {
  if (seed.byteLength < 32) throw new Error('a token signing secret must hold at least 32 bytes');
  const derived = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), 'nimbus token signing key v1', 32));
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, derived]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { kid, privateKey, publicKey };
}
