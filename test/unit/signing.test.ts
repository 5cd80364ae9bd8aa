import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url } from '../../functions/core/base64url';
import { capabilityParam, CapabilitySigner } from '../../functions/core/capability';

describe('upload capabilities', () => {
  const signer = new CapabilitySigner(new Uint8Array(32).fill(3));
  const scope = { session: 's-1', repository: 'team/app' };

  it('verifies a capability for its own session and repository until it expires', async () => {
    const token = await signer.sign({ ...scope, expires: 1000, subject: 'alice' });
    expect(await signer.verify(token, scope, 999)).toEqual({ ok: true, capability: { ...scope, expires: 1000, subject: 'alice' } });
    expect(await signer.verify(token, scope, 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(await signer.verify(token, { ...scope, session: 's-2' }, 0)).toEqual({ ok: false, reason: 'wrong-session' });
    expect(await signer.verify(token, { ...scope, repository: 'team/other' }, 0)).toEqual({ ok: false, reason: 'wrong-session' });
  });

  it('rejects tampered, foreign and malformed capabilities', async () => {
    const token = await signer.sign({ ...scope, expires: 1000 });
    const [payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ s: 's-1', r: 'team/app', e: 9_999_999_999 })).toString('base64url');
    expect((await signer.verify(`${forged}.${signature}`, scope, 0)).ok).toBe(false);
    const other = new CapabilitySigner(new Uint8Array(32).fill(4));
    expect(await other.verify(token, scope, 0)).toEqual({ ok: false, reason: 'bad-signature' });
    for (const bad of ['', 'x', `${payload}`, `${payload}.${signature}.x`, `${payload}.!!!`]) {
      expect((await signer.verify(bad, scope, 0)).ok).toBe(false);
    }
    expect(await signer.verify(null, scope, 0)).toEqual({ ok: false, reason: 'missing' });
  });

  it('accepts one spelling of a capability only: no stray bits, padding or whitespace', async () => {
    const token = await signer.sign({ ...scope, expires: 1000 });
    const [payload, signature] = token.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1)!);
    // 32 bytes in 43 characters: the last character's 2 low bits carry nothing.
    const aliases = [1, 2, 3].map((bits) => `${signature.slice(0, -1)}${alphabet[last + bits]}`);
    for (const alias of [...aliases, `${signature}=`, ` ${signature}`, `${signature}\n`]) {
      expect(await signer.verify(`${payload}.${alias}`, scope, 0), alias).toEqual({ ok: false, reason: 'malformed' });
    }
    expect((await signer.verify(token, scope, 0)).ok).toBe(true);
  });

  it('decodes base64url canonically, whatever the length', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) % 256);
      const text = toBase64Url(bytes);
      expect(fromBase64Url(text)).toEqual(bytes);
      if (length % 3 !== 0) {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const stray = alphabet[alphabet.indexOf(text.at(-1)!) + 1]!;
        expect(fromBase64Url(text.slice(0, -1) + stray), `${length} bytes`).toBeUndefined();
      }
    }
    expect(fromBase64Url('A')).toBeUndefined(); // no byte ends after 6 bits
  });

  it('reads the capability from the query as sent: escapes, "+" and repeats are not it', () => {
    const url = (query: string) => new URL(`http://registry.test/v2/a/blobs/uploads/x?${query}`);
    expect(capabilityParam(url('digest=sha256%3Aab&_state=ab.cd'), '_state')).toBe('ab.cd');
    expect(capabilityParam(url('_state=%61b.cd'), '_state')).toBe('%61b.cd');
    expect(capabilityParam(url('_state=ab.cd&_state=x'), '_state')).toBe('ab.cd&x');
    expect(capabilityParam(url('digest=x'), '_state')).toBeNull();
  });

  it('refuses a short secret', () => {
    expect(() => new CapabilitySigner(new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });
});
