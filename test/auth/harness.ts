import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { FsPolicyStore } from '../../functions/adapters/fs/policy-store';
import { nodeHashing } from '../../functions/adapters/node/hashing';
import { createTokenAuthorizer, type IdentityStore, type TokenAuthOptions } from '../../functions/auth/index';
import type { Action } from '../../functions/core/access';
import { loadOrCreateKeySet } from '../../functions/adapters/fs/key-file';
import { hashSecret } from '../../functions/auth/secret-hash';
import type { KeySet } from '../../functions/auth/keyset';
import { createRegistry, type CacheDeps, type Registry } from '../../functions/core/index';
import { CLIENT_ADDRESS_HEADER } from '../../functions/core/http/headers';

export const ORIGIN = 'http://registry.test';

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  now = () => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface AuthHarness {
  dataDir: string;
  registry: Registry;
  store: IdentityStore;
  keys: KeySet;
  clock: ManualClock;
  fetch(path: string, init?: RequestInit & { headers?: Record<string, string> }): Promise<Response>;
  addUser(name: string, password: string, grants?: Record<string, Action[]>): Promise<void>;
  close(): Promise<void>;
}

/** The registry in-process with token auth on filesystem stores in a temp dir. */
export async function authHarness(options: Partial<TokenAuthOptions> & { address?: string; withGc?: boolean; cache?: CacheDeps } = {}): Promise<AuthHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nimbus-auth-'));
  const blobs = new FsBlobStore(dataDir, { fsync: false });
  const metadata = new FsMetadataStore(dataDir, { fsync: false });
  await Promise.all([blobs.init(), metadata.init()]);
  const store = options.store ?? new FsIdentityStore(dataDir, { fsync: false });
  const keys = options.keys ?? (await loadOrCreateKeySet(dataDir));
  const clock = new ManualClock();
  const { withGc, cache, ...authOptions } = options;
  const blobLocks = new KeyedMutex();
  const registry = createRegistry({
    blobs,
    metadata,
    ...(withGc ? { gc: new FsGcStore(dataDir, { metadata, locks: blobLocks, fsync: false }), blobLocks } : {}),
    ...(cache ? { cache } : {}),
    policies: new FsPolicyStore(dataDir, { fsync: false }),
    inventory: metadata,
    hashing: nodeHashing(),
    clock,
    config: { uploadSecret: randomBytes(32), blobRedirectSeconds: 0 },
    authorizer: createTokenAuthorizer({
      store, keys, clock, service: 'nimbus-test',
      // As the transports do it: the address they stamp on the request (tests stamp their own).
      clientAddress: (request) => request.headers.get(CLIENT_ADDRESS_HEADER) ?? options.address ?? '192.0.2.1',
      ...authOptions,
      publicUrl: options.publicUrl ?? ORIGIN,
    }),
  });
  return {
    dataDir, registry, store, keys, clock,
    fetch(path, init = {}) {
      return registry.fetch(new Request(path.startsWith('http') ? path : ORIGIN + path, init));
    },
    async addUser(name, password, grants = {}) {
      await store.createPrincipal({ name, kind: 'user', secretHash: await hashSecret(password), generation: randomUUID(), createdAt: new Date().toISOString() });
      await store.setGrants(name, Object.entries(grants).map(([pattern, actions]) => ({ pattern, actions })));
    },
    close: () => rm(dataDir, { recursive: true, force: true }),
  };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** GET /token the way docker does; returns the parsed body (asserting 200 is the caller's job). */
export async function getToken(h: AuthHarness, scopes: string[], authorization?: string, extra: Record<string, string> = {}, address?: string): Promise<Response> {
  const query = new URLSearchParams({ service: 'nimbus-test', ...extra });
  for (const scope of scopes) query.append('scope', scope);
  const headers: Record<string, string> = { ...(authorization ? { authorization } : {}), ...(address ? { [CLIENT_ADDRESS_HEADER]: address } : {}) };
  return h.fetch(`/token?${query}`, { headers });
}

export async function tokenFor(h: AuthHarness, scopes: string[], authorization?: string): Promise<string> {
  const response = await getToken(h, scopes, authorization);
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pushes one small blob and an OCI manifest tagged `tag`, with `authorization`; returns the last status. */
export async function pushImage(h: AuthHarness, repo: string, authorization: string, tag = 'v1'): Promise<number> {
  const config = new TextEncoder().encode(`{"nonce":"${randomUUID()}"}`);
  const digest = sha256(config);
  const post = await h.fetch(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST', body: config, headers: { authorization, 'content-type': 'application/octet-stream' },
  });
  if (post.status !== 201) return post.status;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.byteLength },
    layers: [],
  });
  const put = await h.fetch(`/v2/${repo}/manifests/${tag}`, {
    method: 'PUT', body: manifest, headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  return put.status;
}
