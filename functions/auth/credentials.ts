/** The Authorization header, as registry clients send it. */
export type Credentials =
  | { scheme: 'none' }
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'malformed' };

export function readCredentials(request: Request): Credentials {
  const header = request.headers.get('authorization');
  if (!header) return { scheme: 'none' };
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (space <= 0 || !value) return { scheme: 'malformed' };
  if (scheme === 'bearer') return { scheme: 'bearer', token: value };
  if (scheme !== 'basic') return { scheme: 'malformed' };
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { scheme: 'malformed' };
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A principal name fit for a log line: bounded, and never mistaken for a secret-bearing field. */
export function loggableName(username: string): string {
  return username.length > 64 ? `${username.slice(0, 61)}...` : username;
}
