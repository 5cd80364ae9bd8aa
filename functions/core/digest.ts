import { RegistryError } from './errors';

/** Algorithms we verify content with, and the length of their hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex`, the canonical string form. */
  readonly value: string;
}

// The spec's grammar: algorithm-component(+separator)* ":" encoded.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return Object.hasOwn(DIGEST_ALGORITHMS, value);
}

/** Parses a digest, or returns undefined when it is not one we can verify. */
export function tryParseDigest(input: string): Digest | undefined {
  if (!DIGEST_GRAMMAR.test(input)) return undefined;
  const colon = input.indexOf(':');
  const algorithm = input.slice(0, colon);
  const hex = input.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) return undefined;
  if (hex.length !== DIGEST_ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { algorithm, hex, value: input };
}

/** Parses a digest from a request, throwing DIGEST_INVALID with an actionable reason. */
export function parseDigest(input: string | null | undefined, what = 'digest'): Digest {
  if (!input) throw new RegistryError('DIGEST_INVALID', `${what} is required`);
  const digest = tryParseDigest(input);
  if (digest) return digest;
  if (!DIGEST_GRAMMAR.test(input)) {
    throw new RegistryError('DIGEST_INVALID', `${what} "${truncate(input)}" is not of the form algorithm:hex`);
  }
  const algorithm = input.slice(0, input.indexOf(':'));
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `${what} algorithm "${truncate(algorithm)}" is not supported; use sha256 or sha512`);
  }
  throw new RegistryError('DIGEST_INVALID', `${what} must be ${algorithm}: followed by ${DIGEST_ALGORITHMS[algorithm]} lowercase hex characters`);
}

export function digestFrom(algorithm: DigestAlgorithm, hex: string): Digest {
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
