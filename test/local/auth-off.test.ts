import { describe, expect, it } from 'vitest';
import { CLIENT_ADDRESS_HEADER } from '../../functions/core/http/headers';
import { RegistryError } from '../../functions/core/index';
import { authOffAuthorizer, isLoopback } from '../../functions/local/auth-off';

const from = (address: string) => new Request('http://registry.test/v2/_nimbus/gc', { method: 'POST', headers: { [CLIENT_ADDRESS_HEADER]: address } });

describe('NIMBUS_AUTH=off', () => {
  it('lets anyone push, pull and delete, as registry:2 does', async () => {
    for (const actions of [['pull'], ['push'], ['delete'], []] as const) {
      await expect(authOffAuthorizer.authorize(from('203.0.113.9'), { repository: 'team/app', actions: [...actions] })).resolves.toEqual({});
    }
    await expect(authOffAuthorizer.authorize(from('203.0.113.9'), { actions: ['pull'] })).resolves.toEqual({});
  });

  it('serves registry administration to this machine only, and says how to get it elsewhere', async () => {
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      await expect(authOffAuthorizer.authorize(from(address), { actions: [], admin: true })).resolves.toEqual({});
    }
    for (const address of ['10.0.0.5', '::ffff:192.168.1.2', '2001:db8::1', 'unknown', '']) {
      const refused = await authOffAuthorizer.authorize(from(address), { actions: [], admin: true }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RegistryError);
      expect((refused as RegistryError).code).toBe('DENIED');
      expect((refused as RegistryError).message).toContain('NIMBUS_AUTH=on');
    }
  });

  it('knows loopback addresses as node:http reports them', () => {
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.2'].map(isLoopback)).toEqual([true, true, true]);
    expect(['128.0.0.1', '::2', '::ffff:10.1.1.1', 'localhost', null].map(isLoopback)).toEqual([false, false, false, false, false]);
  });
});
