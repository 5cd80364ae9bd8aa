/** The browse UI's static files and read routes, at the API level (the browser test is test/local/ui-browser.test.ts). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGatewayHandler, LAMBDA_MAX_RESPONSE_BYTES } from '../../functions/adapters/apigw/index';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { nodeHashing } from '../../functions/adapters/node/hashing';
import { createRegistry, type Registry } from '../../functions/core/index';
import { ROUTES } from '../../functions/core/routes';
import { SEARCH_SCAN_BUDGET } from '../../functions/core/handlers/browse';
import { MAX_CHILDREN_MEASURED } from '../../functions/core/browse/summary';
import type { MetadataStore } from '../../functions/core/ports';
import { OCI_INDEX, OCI_MANIFEST, pushImage, pushManifest, pushReferrer, pushTwoPlatformIndex, SBOM_TYPE, type Pusher } from '../../harness/ui-images';
import { apiGatewayEvent } from '../apigw/events';

const ROOT = join(import.meta.dirname, '../..');
const BASE = 'http://registry.test';

describe('browse UI', () => {
  let dir: string;
  let registry: Registry;
  let pusher: Pusher;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => registry.fetch(new Request(`${BASE}${path}`, { method, headers }));
  const json = async <T>(path: string): Promise<T> => {
    const response = await get(path);
    expect(response.status, await response.clone().text()).toBe(200);
    return response.json() as Promise<T>;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-ui-api-'));
    const blobs = new FsBlobStore(dir, { fsync: false });
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await Promise.all([blobs.init(), metadata.init()]);
    registry = createRegistry({ blobs, metadata, inventory: metadata, policies: undefined, hashing: nodeHashing(), config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0 } });
    pusher = { base: BASE, fetch: registry.fetch };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the committed assets are what ui/src/ builds to', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'tools/build/ui-assets.mjs'), '--check'], { cwd: ROOT });
    expect(stdout).toContain('up to date');
  });

  it('serves /ui/ with a strict CSP, no framing, revalidation by ETag (304), and its own hashed assets cached for good', async () => {
    const page = await get('/ui/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy')!;
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const etag = page.headers.get('etag')!;
    const html = await page.text();
    // Nothing inline for the CSP to refuse, and nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=|https?:\/\//i);
    const notModified = await get('/ui/', { 'If-None-Match': `W/"other", ${etag}` });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    expect((await get('/ui/', { 'If-None-Match': '"other"' })).status).toBe(200);
    const assets = [...html.matchAll(/(?:src|href)="((?:app|style)\.[\w-]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets).toHaveLength(2);
    let total = html.length;
    for (const asset of assets) {
      const response = await get(`/ui/${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      const body = await response.text();
      expect(body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      total += body.length;
    }
    // Far below the 6 MB a Lambda response may hold.
    expect(total).toBeLessThan(200_000);
  });

  it('redirects /ui to /ui/, answers HEAD without a body, and unknown files and methods with spec errors', async () => {
    const bare = await get('/ui');
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/ui/']);
    const head = await get('/ui/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const missing = await get('/ui/nothing.js');
    expect(missing.status).toBe(404);
    expect((await missing.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNSUPPORTED');
    expect((await get('/ui/', {}, 'POST')).status).toBe(405);
    for (const name of ['__proto__', 'constructor', 'toString', 'index.html%00', '%2e%2e']) {
      const response = await get(`/ui/${name}`);
      expect(response.status, name).toBeGreaterThanOrEqual(400);
      expect(response.status, name).toBeLessThan(500);
    }
  });

  it('is served the same through the Lambda handler (API Gateway routes every path to it)', async () => {
    const handler = createApiGatewayHandler({ fetch: registry.fetch, logger: { log() {} } });
    const result = await handler(apiGatewayEvent({ rawPath: '/ui/' }));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'x-frame-options': 'DENY', 'content-type': 'text/html; charset=utf-8' });
    const body = result.isBase64Encoded ? Buffer.from(result.body!, 'base64').toString() : result.body!;
    expect(body).toContain('<main id="main"');
    expect(body.length).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
  });

  it('authorizes its read routes as the API it extends: the UI itself needs no login, search as the catalog, the rest as pull', () => {
    const access = (name: string) => ROUTES.find((route) => route.name === name)!.methods.GET!.access;
    expect(access('ui')).toBe('public');
    const search = access('browse-repositories');
    expect(typeof search === 'function' && search({}, new URLSearchParams())).toEqual({ actions: ['pull'] });
    for (const name of ['browse-tags', 'browse-summary', 'browse-storage']) {
      const route = access(name);
      expect(typeof route === 'function' && route({ name: 'a/b' }, new URLSearchParams())).toEqual({ repository: 'a/b', actions: ['pull'] });
    }
  });

  it('searches repository names by substring a page at a time, resuming from the cursor it returns', async () => {
    const names = [...Array.from({ length: 7 }, (_, i) => `search/alpha-${i}`), ...Array.from({ length: 5 }, (_, i) => `search/beta-${i}`), 'zeta/alpha-last'];
    await Promise.all(names.map((name) => pushImage(pusher, name, 'v1', { layerBytes: 10 })));
    const seen: string[] = [];
    let last: string | undefined;
    let pages = 0;
    do {
      const page: { repositories: string[]; next?: string } = await json(`/v2/_nimbus/repositories?q=ALPHA&n=3${last ? `&last=${last}` : ''}`);
      expect(page.repositories.length).toBeLessThanOrEqual(3);
      seen.push(...page.repositories);
      last = page.next;
      pages += 1;
    } while (last && pages < 10);
    expect(seen).toEqual(names.filter((name) => name.includes('alpha')));
    const all: { repositories: string[] } = await json('/v2/_nimbus/repositories?n=100');
    expect(all.repositories.filter((name) => names.includes(name))).toEqual(names);
    expect((await get('/v2/_nimbus/repositories?n=x')).status).toBe(400);
    expect((await get('/v2/_nimbus/repositories?last=..bad')).status).toBe(400);
  });

  it('summarises tags (digest, size, platforms, push and pull times) without recording a pull itself', async () => {
    const image = await pushImage(pusher, 'browse/app', '1.0', { layerBytes: 1234, entrypoint: ['/app'], labels: { team: 'a' } });
    const index = await pushTwoPlatformIndex(pusher, 'browse/app', 'multi');
    type Tags = { tags: Array<{ tag: string; digest: string; size: number; platforms: unknown[]; pushedAt?: number; pulledAt?: number }> };
    const before: Tags = await json('/v2/browse/app/_nimbus/tags');
    expect(before.tags.map(({ tag, digest, size, platforms }) => ({ tag, digest, size, platforms }))).toEqual([
      { tag: '1.0', digest: image.digest, size: image.size, platforms: [{ os: 'linux', architecture: 'amd64' }] },
      { tag: 'multi', digest: index.digest, size: index.size, platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] },
    ]);
    expect(before.tags.every((tag) => typeof tag.pushedAt === 'number' && tag.pulledAt === undefined)).toBe(true);
    const again: Tags = await json('/v2/browse/app/_nimbus/tags');
    expect(again.tags.every((tag) => tag.pulledAt === undefined)).toBe(true);
    expect((await get('/v2/browse/app/manifests/1.0', { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status).toBe(200);
    const after: Tags = await json('/v2/browse/app/_nimbus/tags?n=1');
    expect(after.tags).toHaveLength(1);
    expect(after.tags[0]!.pulledAt).toEqual(expect.any(Number));
    expect(await json('/v2/browse/app/_nimbus/tags?n=1&last=1.0')).toMatchObject({ tags: [{ tag: 'multi' }] });
    expect((await get('/v2/browse/none/_nimbus/tags')).status).toBe(404);
  });

  it("summarises a manifest's config and measures a repository's storage; referrers stay the spec's API", async () => {
    const image = await pushImage(pusher, 'browse/config', 'v1', { layerBytes: 100, entrypoint: ['/bin/x', '-y'], env: ['A=1'], labels: { team: 'b' } });
    const referrer = await pushReferrer(pusher, 'browse/config', image.digest);
    const summary = await json(`/v2/browse/config/_nimbus/summary/${image.digest}`);
    expect(summary).toMatchObject({ kind: 'image', size: image.size, config: { created: '2026-01-02T03:04:05Z', entrypoint: ['/bin/x', '-y'], env: ['A=1'], labels: { team: 'b' } } });
    expect(await json(`/v2/browse/config/_nimbus/summary/${referrer}`)).toMatchObject({ artifactType: SBOM_TYPE, platforms: [] });
    const missing = await get(`/v2/browse/config/_nimbus/summary/sha256:${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect((await get('/v2/browse/config/_nimbus/summary/not-a-digest')).status).toBe(400);
    const storage: { manifests: number; blobs: number; bytes: number; blobBytes: number } = await json('/v2/browse/config/_nimbus/storage');
    expect(storage.manifests).toBe(2);
    expect(storage.blobs).toBe(4);
    expect(storage.blobBytes).toBe(image.size + 2 + JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'example' }).length);
  });

  it('stops a search after SEARCH_SCAN_BUDGET names and resumes from there, so no request walks a huge catalog', async () => {
    // A catalog of 50,000 names, listed by the store a page at a time (nothing else is called).
    const names = Array.from({ length: 50_000 }, (_, i) => `bulk/r${String(i).padStart(6, '0')}`);
    let listed = 0;
    const catalog = {
      async listRepositories({ limit, after }: { limit: number; after?: string }) {
        const start = after === undefined ? 0 : names.findIndex((name) => name > after);
        const items = start < 0 ? [] : names.slice(start, start + limit);
        listed += items.length;
        return { items, more: start >= 0 && start + limit < names.length };
      },
    } as unknown as MetadataStore;
    const big = createRegistry({ blobs: {} as never, metadata: catalog, policies: undefined, inventory: undefined, config: { uploadSecret: new Uint8Array(32) } });
    const search = async (query: string) => (await big.fetch(new Request(`${BASE}/v2/_nimbus/repositories?${query}`))).json() as Promise<{ repositories: string[]; scanned: number; next?: string }>;
    const first = await search('q=r049999');
    expect(first).toEqual({ repositories: [], scanned: SEARCH_SCAN_BUDGET, next: names[SEARCH_SCAN_BUDGET - 1] });
    expect(listed).toBe(SEARCH_SCAN_BUDGET);
    const second = await search(`q=r049999&last=${first.next}`);
    const third = await search(`q=r049999&last=${second.next}`);
    expect(third).toEqual({ repositories: ['bulk/r049999'], scanned: 50_000 - 2 * SEARCH_SCAN_BUDGET });
    expect(await search('n=2')).toEqual({ repositories: names.slice(0, 2), scanned: 2, next: names[1] });
  });

  it("measures an index's size over its first MAX_CHILDREN_MEASURED children only, and says so", async () => {
    const images = await Promise.all(Array.from({ length: MAX_CHILDREN_MEASURED + 1 }, (_, i) => pushImage(pusher, 'browse/wide', undefined, { layerBytes: 10 + i })));
    const manifests = await Promise.all(images.map(async (image) => ({
      mediaType: OCI_MANIFEST, digest: image.digest, platform: { os: 'linux', architecture: 'amd64' },
      size: (await (await get(`/v2/browse/wide/manifests/${image.digest}`, { Accept: OCI_MANIFEST })).arrayBuffer()).byteLength,
    })));
    const real = await pushManifest(pusher, 'browse/wide', 'wide', { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, OCI_INDEX);
    const summary: { size: number; sizeComplete: boolean; platforms: unknown[] } = await json(`/v2/browse/wide/_nimbus/summary/${real}`);
    expect(summary.platforms).toHaveLength(MAX_CHILDREN_MEASURED + 1);
    expect(summary.sizeComplete).toBe(false);
    // The images share one config (same platform and settings): distinct blobs count once.
    const configSize = images[0]!.size - 10;
    expect(summary.size).toBe(configSize + Array.from({ length: MAX_CHILDREN_MEASURED }, (_, i) => 10 + i).reduce((a, b) => a + b, 0));
  });
});
