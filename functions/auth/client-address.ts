import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address failed logins are counted against. One IPv6 host holds a whole /64 (often
 * more), so counting single IPv6 addresses would give an attacker 2^64 fresh ones: IPv6
 * counts per /64. An IPv4-mapped address counts as its IPv4 address.
 */
export function addressBucket(address: string | undefined): string {
  const raw = (address ?? 'unknown').trim().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(raw)) return raw;
  if (isIPv6(raw)) return `${ipv6Groups(raw).slice(0, 4).join(':')}::/64`;
  // Not an IP (a transport that could not tell): one shared bucket per value, bounded.
  return raw.slice(0, 64) || 'unknown';
}

/** The eight 16-bit groups of a valid IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
