import { describe, expect, it } from 'vitest';
import { CapabilitySigner } from '../../functions/core/capability';

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

  it('refuses a short secret', () => {
    expect(() => new CapabilitySigner(new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });
});
