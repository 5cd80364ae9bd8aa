import { isIP } from 'node:net';
import { allowAll, RegistryError, type Authorizer } from '../core/index';
import { CLIENT_ADDRESS_HEADER } from '../core/http/headers';

/**
 * NIMBUS_AUTH=off: anyone may push, pull and delete, as with registry:2. Registry administration
 * (/v2/_nimbus/: garbage collection, retention, immutability) is served to this machine only:
 * with no logins there is nobody to grant it to, and a stranger's zero-window collection or
 * retention run would be more than a delete.
 */
export const authOffAuthorizer: Authorizer = {
  async authorize(request, access) {
    if (access.admin && !isLoopback(request.headers.get(CLIENT_ADDRESS_HEADER))) {
      throw new RegistryError('DENIED', 'registry administration is only served to this machine while NIMBUS_AUTH is off: '
        + 'run npx nimbus on the registry host, or turn auth on (NIMBUS_AUTH=on) and grant an admin \'**\' pull,push,delete', {
        detail: { Type: 'registry', Name: 'nimbus', Action: '*' },
      });
    }
    return {};
  },
  can: allowAll.can,
};

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback, as node:http reports a socket's remote address. */
export function isLoopback(address: string | null): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}
