import { isRepositoryName, isTag } from '../../functions/core/names';
import { tryParseDigest } from '../../functions/core/digest';
import { CliError } from '../errors';

/** Where an image goes: `HOST[:PORT]/name/path:tag` or `...@sha256:...`. */
export interface ImageReference {
  /** `host[:port]` as written in the reference: the key of docker's stored logins. */
  host: string;
  repository: string;
  /** The tag, or the digest, the top manifest is put under. */
  reference: string;
  /** Scheme and authority the registry API is reached at. */
  origin: string;
}

export interface OriginOptions {
  /** Overrides the scheme and authority (`https://registry.example:8443`). */
  registry?: string;
  plainHttp?: boolean;
}

const LOCAL_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/** docker's rule: the first component names a registry when it has a dot, a port, or is localhost. */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

export function parseReference(input: string, options: OriginOptions = {}): ImageReference {
  const example = 'for example registry.example.com/team/app:v1 or localhost:5000/app@sha256:<hex>';
  const slash = input.indexOf('/');
  const first = slash > 0 ? input.slice(0, slash) : '';
  let host: string;
  let rest: string;
  if (first && looksLikeHost(first)) {
    host = first;
    rest = input.slice(slash + 1);
  } else if (options.registry) {
    host = registryUrl(options.registry).host;
    rest = input;
  } else {
    throw new CliError(`"${input}" does not name a registry host: write REF as HOST[:PORT]/NAME[:TAG], ${example}`);
  }

  let repository = rest;
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    repository = rest.slice(0, at);
    reference = rest.slice(at + 1);
    if (!tryParseDigest(reference)) throw new CliError(`"${reference}" is not a sha256 or sha512 digest (${example})`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      repository = rest.slice(0, colon);
      reference = rest.slice(colon + 1);
      if (!isTag(reference)) throw new CliError(`"${reference}" is not a valid tag: letters, digits, "_", "." and "-", at most 128 characters`);
    }
  }
  if (!isRepositoryName(repository)) {
    throw new CliError(`"${repository}" is not a valid repository name: lowercase path components ([a-z0-9] joined by ".", "_", "__" or "-") separated by "/"`);
  }
  return { host, repository, reference, origin: originFor(host, options) };
}

function registryUrl(value: string): URL {
  const url = URL.canParse(value) ? new URL(value) : URL.canParse(`https://${value}`) ? new URL(`https://${value}`) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(`--registry takes a URL such as https://registry.example.com, not "${value}"`);
  }
  return url;
}

function originFor(host: string, options: OriginOptions): string {
  if (options.registry) {
    const url = registryUrl(options.registry);
    return `${options.plainHttp ? 'http:' : url.protocol}//${url.host}`;
  }
  const scheme = options.plainHttp || LOCAL_HOSTS.test(host) ? 'http' : 'https';
  return `${scheme}://${host}`;
}

/** How the pushed image is named in messages. */
export function describeReference(ref: ImageReference, digest?: string): string {
  const name = `${ref.host}/${ref.repository}`;
  if (ref.reference.includes(':')) return `${name}@${ref.reference}`;
  return digest ? `${name}:${ref.reference}@${digest}` : `${name}:${ref.reference}`;
}
