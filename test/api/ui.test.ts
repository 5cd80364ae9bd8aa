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
import type { MetadataStore } from '../../functions/core/ports';
import { defineBrowseSuite } from './suites/browse';
import { apiGatewayEvent } from '../apigw/events';

const ROOT = join(import.meta.dirname, '../..');
const BASE = 'http://registry.test';

defineBrowseSuite('filesystem stores', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-browse-'));
  const blobs = new FsBlobStore(dir, { fsync: false });
  const metadata = new FsMetadataStore(dir, { fsync: false });
  await Promise.all([blobs.init(), metadata.init()]);
  const registry = createRegistry({ blobs, metadata, inventory: metadata, policies: undefined, hashing: nodeHashing(), config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0 } });
  return { fetch: registry.fetch, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('browse UI', () => {
  let dir: string;
  let registry: Registry;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => registry.fetch(new Request(`${BASE}${path}`, { method, headers }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-ui-api-'));
    const blobs = new FsBlobStore(dir, { fsync: false });
    const metadata = new FsMetadataStore(dir, { fsync: false });
    await Promise.all([blobs.init(), metadata.init()]);
    registry = createRegistry({ blobs, metadata, inventory: metadata, policies: undefined, hashing: nodeHashing(), config: { uploadSecret: new Uint8Array(32).fill(3), blobRedirectSeconds: 0 } });
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

});
