/** base64url without padding, for tokens that travel in URLs. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes canonical base64url only: the alphabet without padding or whitespace, and no
 * stray bits in the last character. Every byte string then has exactly one accepted
 * spelling, so a signed token cannot be replayed under another one.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const binary = atob(padded);
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  } catch {
    return undefined;
  }
  // atob ignores the unused low bits of the last character: "AB" and "AA" both decode to [0].
  return toBase64Url(bytes) === text ? bytes : undefined;
}
