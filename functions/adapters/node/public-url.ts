import { isIPv6 } from 'node:net';

/**
 * The registry's public URL: the origin clients reach it at, from which the token realm
 * (and any other absolute URL) is built. It comes from configuration, never from a
 * request's Host or X-Forwarded-* headers, which the client chooses. Shared by `npm start`
 * and `npm run dev:aws`.
 */

/** Addresses that listen everywhere, so they name no host a client could reach. */
const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']);

export function isWildcardHost(host: string): boolean {
  return WILDCARD_HOSTS.has(host.trim());
}

/** NIMBUS_PUBLIC_URL as an origin (trailing slashes dropped), or undefined when unset; a message when malformed. */
export function parsePublicUrl(value: string | undefined): { url: string | undefined } | { error: string } {
  const trimmed = value?.trim().replace(/\/+$/, '');
  if (!trimmed) return { url: undefined };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { error: `NIMBUS_PUBLIC_URL must be a URL like https://registry.example.com, not "${trimmed}"` };
  }
  const originOnly = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !originOnly || trimmed.endsWith('?') || trimmed.endsWith('#')) {
    return { error: `NIMBUS_PUBLIC_URL must be an origin (http or https, host, optional port, no path: the API sits at /v2/), like https://registry.example.com, not "${trimmed}"` };
  }
  return { url: url.origin };
}

/** The message for a server that would have to guess its public URL. */
export function publicUrlNeeded(host: string, port: number): string {
  return `HOST=${host} listens on every address, so it names none that clients can reach, and logins need one: `
    + `set NIMBUS_PUBLIC_URL to the URL clients use (e.g. NIMBUS_PUBLIC_URL=http://registry.example.com:${port || 5000}); `
    + 'docker logs in at that URL\'s /token';
}

/** http://HOST:PORT (https:// with TLS) for a concrete HOST (IPv6 in brackets). */
export function originOf(host: string, port: number | string, scheme: 'http' | 'https' = 'http'): string {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  return `${scheme}://${isIPv6(bare) ? `[${bare}]` : bare}:${port}`;
}
