import { RegistryError } from './errors';

// distribution-spec v1.1: path components separated by "/", each lowercase alphanumerics
// joined by ".", "_", "__" or runs of "-".
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** The spec caps the whole name (with a registry hostname) at 255 characters. */
export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function parseRepositoryName(name: string): string {
  if (isRepositoryName(name)) return name;
  const reason = name.length > MAX_NAME_LENGTH
    ? `is longer than ${MAX_NAME_LENGTH} characters`
    : 'must be lowercase path components ([a-z0-9] joined by ".", "_", "__" or "-") separated by "/"';
  throw new RegistryError('NAME_INVALID', `repository name "${name.slice(0, 80)}" ${reason}`, { detail: { name: name.slice(0, 300) } });
}

export function isTag(reference: string): boolean {
  return TAG.test(reference);
}

// Upload and direct-upload sessions are named by crypto.randomUUID().
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}
