/**
 * Which addresses a webhook may reach (SSRF guard). Cloud metadata services live at
 * link-local addresses (169.254.169.254, fd00:ec2::254), so those are refused unless the
 * operator allows them; loopback and private ranges are allowed by default (internal CI
 * servers live there) and can be refused too. IPv4-mapped, -compatible and NAT64 forms of
 * an IPv4 address are judged as that address.
 */
export type AddressKind = 'public' | 'private' | 'loopback' | 'link-local' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

/** NIMBUS_WEBHOOK_ADDRESSES: public only; public, private and loopback (default); or any. */
export type AddressPolicy = 'public' | 'private' | 'any';

const ALLOWED: Record<AddressPolicy, readonly AddressKind[]> = {
  public: ['public'],
  private: ['public', 'private', 'loopback'],
  any: ['public', 'private', 'loopback', 'link-local', 'metadata', 'unspecified', 'reserved'],
};

export function isAddressPolicy(value: string): value is AddressPolicy {
  return value === 'public' || value === 'private' || value === 'any';
}

/** Why the policy refuses `address`, or undefined when it may be reached. */
export function addressRefusal(address: string, policy: AddressPolicy): string | undefined {
  const kind = classifyAddress(address);
  if (kind === undefined) return `${address} is not an IP address`;
  if (ALLOWED[policy].includes(kind)) return undefined;
  const hint = kind === 'multicast' ? '' : ` (the operator can allow it: NIMBUS_WEBHOOK_ADDRESSES=${kind === 'loopback' || kind === 'private' ? 'private' : 'any'})`;
  return `${address} is a ${kind} address, which webhooks may not reach${hint}`;
}

/** The kind of an IPv4 or IPv6 address, or undefined when it is neither. */
export function classifyAddress(address: string): AddressKind | undefined {
  const v4 = parseIpv4(address);
  if (v4) return classifyIpv4(v4);
  const v6 = parseIpv6(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  return v6 ? classifyIpv6(v6) : undefined;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.map(Number);
}

function classifyIpv4([a, b, c]: number[]): AddressKind {
  if (a === 169 && b === 254) return c === 169 || c === 170 ? 'metadata' : 'link-local';
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 100 && b! >= 64 && b! <= 127)) return 'private';
  if (a! >= 224 && a! <= 239) return 'multicast';
  if (a! >= 240) return 'reserved';
  return 'public';
}

/** Eight 16-bit groups, or undefined. Accepts "::" and a dotted IPv4 tail (::ffff:1.2.3.4). */
export function parseIpv6(text: string): number[] | undefined {
  let hex = text;
  const dotted = /(?<=:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIpv4(dotted[1]!);
    if (!v4) return undefined;
    hex = `${text.slice(0, dotted.index)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  if (!/^[0-9a-fA-F:]+$/.test(hex)) return undefined;
  const halves = hex.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN)));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (fill < (halves.length === 2 ? 1 : 0)) return undefined;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

function classifyIpv6(g: number[]): AddressKind {
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  const v4 = (i: number) => classifyIpv4([g[i]! >> 8, g[i]! & 255, g[i + 1]! >> 8, g[i + 1]! & 255]);
  if (zeros(8)) return 'unspecified';
  if (zeros(7) && g[7] === 1) return 'loopback';
  if (zeros(5) && g[5] === 0xffff) return v4(6); // ::ffff:a.b.c.d
  if (zeros(6)) return v4(6); // ::a.b.c.d (deprecated compatible form)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(6); // NAT64
  if (g[0] === 0xfd00 && g[1] === 0x0ec2 && g.slice(2, 7).every((x) => x === 0) && g[7] === 0x254) return 'metadata'; // AWS IMDS
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}
