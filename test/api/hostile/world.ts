import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, RegistryClient, sha256, type Fetcher } from '../client';

/**
 * What the hostile requests aim at: a repository with a tagged image, an open upload, a
 * valid manifest and blob bytes that were never stored. A request that the registry wrongly
 * accepted (a name resolved into this repository, a body appended despite its encoding)
 * would change it; `snapshot` makes that visible.
 */
export interface World {
  /** hostile-xxxxxxxx */
  readonly ns: string;
  /** hostile-xxxxxxxx/app */
  readonly repo: string;
  /** /v2/<repo>/blobs/uploads/<id>, without its query. */
  readonly uploadPath: string;
  /** The upload's capability, as the registry handed it out. */
  readonly state: string;
  /** The same capability spelled another way: a stray bit in its last character. */
  readonly stateAlias: string;
  /** The digest of a layer blob in the repository. */
  readonly layer: string;
  /** A valid manifest over the repository's blobs, never pushed. */
  readonly manifest: string;
  /** Blob bytes never stored. */
  readonly bytes: Uint8Array<ArrayBuffer>;
}

export async function createWorld(fetcher: Fetcher): Promise<World> {
  const client = new RegistryClient(fetcher);
  const ns = `hostile-${randomBytes(4).toString('hex')}`;
  const repo = `${ns}/app`;
  const image = await client.pushImage(repo, 'v1');
  const location = new URL(await client.startUpload(repo), client.origin);
  const state = location.searchParams.get('_state')!;
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: image.config.digest, size: image.config.size },
    layers: image.layers.map((layer) => ({ ...layer, mediaType: OCI_LAYER })),
    annotations: { purpose: 'never stored' },
  });
  return {
    ns, repo, uploadPath: location.pathname, state, stateAlias: aliasOf(state), layer: image.layers[0]!.digest, manifest,
    bytes: new Uint8Array(randomBytes(1024)),
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A 32-byte HMAC takes 43 base64url characters, whose last 2 bits carry nothing: a
 * lenient decoder reads the same signature from 4 spellings of the last character.
 */
function aliasOf(token: string): string {
  const last = ALPHABET.indexOf(token.at(-1)!);
  expect(last % 4, 'a canonical signature leaves the unused bits zero').toBe(0);
  return token.slice(0, -1) + ALPHABET[last + 1];
}

/**
 * Everything a rejected request must leave as it was: the catalog, the repository's tags,
 * the upload's offset, and that the never-stored manifest and blob are still absent.
 */
export async function snapshot(fetcher: Fetcher, world: World): Promise<string> {
  const send = (method: string, path: string) => fetcher(new Request(`http://registry.test${path}`, { method }));
  const catalog = await send('GET', '/v2/_catalog?n=10000');
  const tags = await send('GET', `/v2/${world.repo}/tags/list`);
  const upload = await send('GET', `${world.uploadPath}?_state=${world.state}`);
  const blob = await send('HEAD', `/v2/${world.repo}/blobs/${sha256(world.bytes)}`);
  const manifest = await send('HEAD', `/v2/${world.repo}/manifests/${sha256(world.manifest)}`);
  return JSON.stringify({
    catalog: `${catalog.status} ${await catalog.text()}`,
    tags: `${tags.status} ${await tags.text()}`,
    upload: `${upload.status} ${upload.headers.get('range')}`,
    blob: blob.status,
    manifest: manifest.status,
  });
}
