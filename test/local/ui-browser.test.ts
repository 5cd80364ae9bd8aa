/**
 * The browse UI (/ui/) in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core,
 * which downloads no browser) against `npm start`, with images this test pushes over the API.
 * Screenshots go to test-artifacts/ui/.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, pushReferrer, pushTwoPlatformIndex, SBOM_TYPE, type Pushed } from '../../harness/ui-images';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { hashSecret } from '../../functions/auth/secret-hash';
import { exitCode, ROOT, start, type Started } from './local-server';

const ARTIFACTS = join(ROOT, 'test-artifacts/ui');
const CHROMIUM = '/usr/bin/chromium';

describe('browse UI in headless Chromium', () => {
  let dir: string;
  let open: Started;
  let locked: Started;
  let browser: Browser;
  let image: Pushed;
  let index: Pushed;
  let referrer: string;
  let doomedReferrer: string;
  /** Per page: requests to any other origin, and what the Content-Security-Policy refused. */
  const offences = new WeakMap<Page, string[]>();

  async function newPage(base: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const seen: string[] = [];
    offences.set(page, seen);
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('data:')) seen.push(`request to ${request.url()}`);
    });
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) seen.push(message.text());
    });
    return page;
  }

  /** Closes a page that made no request to another origin and broke no rule of the CSP. */
  async function finish(page: Page): Promise<void> {
    expect(offences.get(page)).toEqual([]);
    await page.close();
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-ui-'));
    await mkdir(ARTIFACTS, { recursive: true });
    const lockedData = join(dir, 'locked');
    // The user is written to the data dir as `npx nimbus user add` and `grant` write it (the
    // identity store), in-process: two CLI processes would cost seconds of this file's budget.
    const identities = new FsIdentityStore(lockedData, { fsync: false });
    await identities.createPrincipal({ name: 'viewer', kind: 'user', secretHash: await hashSecret('viewer-password-1'), generation: randomUUID(), createdAt: new Date().toISOString() });
    await identities.setGrants('viewer', [{ pattern: '**', actions: ['pull', 'push'] }]);
    [open, locked, browser] = await Promise.all([
      start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'open'), NIMBUS_FSYNC: 'off' }),
      start({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: lockedData, NIMBUS_FSYNC: 'off', NIMBUS_AUTH: 'on' }),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    const pusher = { base: open.url };
    image = await pushImage(pusher, 'demo/app', '1.0', { layerBytes: 2_000_000, entrypoint: ['/usr/bin/demo', '--serve'], env: ['DEMO_MODE=browse'], labels: { 'org.opencontainers.image.title': 'demo app' } });
    await pushImage(pusher, 'demo/app', '2.0');
    index = await pushTwoPlatformIndex(pusher, 'demo/app', 'multi');
    referrer = await pushReferrer(pusher, 'demo/app', image.digest);
    await Promise.all(['other/one', 'other/two', 'tools/lint'].map((name) => pushImage(pusher, name, 'latest')));
    // What the delete test deletes, apart from what the other tests look at.
    const kept = await pushImage(pusher, 'scratch/delete', 'keep');
    await pushImage(pusher, 'scratch/delete', 'doomed');
    doomedReferrer = await pushReferrer(pusher, 'scratch/delete', kept.digest);
    const basic = { Authorization: `Basic ${Buffer.from('viewer:viewer-password-1').toString('base64')}` };
    await pushImage({ base: locked.url, headers: basic }, 'private/thing', 'v1');
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of [open, locked]) {
      server?.child.kill('SIGTERM');
      if (server) await exitCode(server.child);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('lists repositories a page at a time and filters them by part of the name', async () => {
    const page = await newPage(open.url);
    await page.goto(`${open.url}/ui/`);
    const list = page.getByRole('list', { name: 'Repositories' });
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['demo/app', 'other/one', 'other/two', 'scratch/delete', 'tools/lint']);
    const filter = page.getByLabel('Filter repositories');
    await filter.fill('other');
    await filter.press('Enter');
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['other/one', 'other/two']);
    // The page re-rendered around the filter; the caret is still in it, so typing goes on.
    expect(await filter.evaluate((input) => input === document.activeElement)).toBe(true);
    await page.keyboard.type('/t');
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['other/two']);
    await page.screenshot({ path: join(ARTIFACTS, 'repositories.png') });
    // Pages of two: each from _catalog's Link header, the last without a Next page.
    await page.goto(`${open.url}/ui/#/?n=2`);
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['demo/app', 'other/one']);
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['other/two', 'scratch/delete']);
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect.poll(() => list.getByRole('link').allTextContents()).toEqual(['tools/lint']);
    expect(await page.getByRole('link', { name: 'Next page' }).count()).toBe(0);
    await finish(page);
  });

  it("shows a repository's tags with digest, size, platforms and push time, and its storage", async () => {
    const page = await newPage(open.url);
    await page.goto(`${open.url}/ui/#/repo?name=demo/app`);
    const row = (tag: string) => page.locator(`tr[data-tag="${tag}"]`);
    await row('multi').waitFor();
    await expect.poll(() => row('multi').textContent()).toContain('linux/amd64');
    expect(await row('multi').textContent()).toContain('linux/arm64');
    expect(await row('1.0').textContent()).toContain('2.00 MB');
    expect(await row('1.0').textContent()).toContain(image.digest.slice(0, 19));
    expect(await row('1.0').textContent()).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    const pull = `docker pull ${new URL(open.url).host}/demo/app:1.0`;
    expect(await row('1.0').getByRole('textbox').inputValue()).toBe(pull);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: open.url });
    await row('1.0').getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => row('1.0').getByRole('button', { name: 'Copied' }).count()).toBe(1);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(pull);
    expect(await page.locator('.storage').textContent()).toMatch(/Storage: [\d.]+ MB in 6 manifests/);
    await page.screenshot({ path: join(ARTIFACTS, 'tags.png'), fullPage: true });
    await finish(page);
  });

  it('shows an image with its layers, config and the referrer under it, and an index with its platforms', async () => {
    const page = await newPage(open.url);
    await page.goto(`${open.url}/ui/#/manifest?name=demo/app&digest=${image.digest}&tag=1.0`);
    const referrers = page.locator('section.referrers');
    await referrers.getByRole('table').waitFor();
    expect(await referrers.textContent()).toContain(SBOM_TYPE);
    expect(await referrers.getByRole('link').textContent()).toBe(referrer.slice(0, 19));
    expect(await page.getByRole('table', { name: 'Config and layers' }).textContent()).toContain('2.00 MB');
    const config = await page.locator('section.config').textContent();
    expect(config).toContain('["/usr/bin/demo","--serve"]');
    expect(config).toContain('DEMO_MODE=browse');
    expect(config).toContain('org.opencontainers.image.title=demo app');
    expect(config).toContain('2026-01-02T03:04:05Z');
    await page.screenshot({ path: join(ARTIFACTS, 'manifest.png'), fullPage: true });
    await page.goto(`${open.url}/ui/#/manifest?name=demo/app&digest=${index.digest}&tag=multi`);
    const children = page.getByRole('table', { name: 'Manifests of the index' });
    await children.waitFor();
    expect(await children.locator('tbody th').allTextContents()).toEqual(['linux/amd64', 'linux/arm64']);
    await finish(page);
  });

  it('deletes a tag after a confirmation, leaving the manifest, and a manifest from its page', async () => {
    const page = await newPage(open.url);
    await page.goto(`${open.url}/ui/#/repo?name=scratch/delete`);
    await page.getByRole('button', { name: 'Delete tag doomed' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('scratch/delete:doomed');
    // Keyboard: the dialog opens with Cancel focused, so Enter declines.
    expect(await dialog.getByRole('button', { name: 'Cancel' }).evaluate((button) => button === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('tr[data-tag="doomed"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Delete tag doomed' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.locator('tr[data-tag="doomed"]').waitFor({ state: 'detached' });
    const tags = await (await fetch(`${open.url}/v2/scratch/delete/tags/list`)).json() as { tags: string[] };
    expect(tags.tags).toEqual(['keep']);
    await page.goto(`${open.url}/ui/#/manifest?name=scratch/delete&digest=${doomedReferrer}`);
    await page.getByRole('button', { name: 'Delete this manifest' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    // The UI goes back to the repository once the DELETE has been answered.
    await page.getByRole('heading', { name: 'scratch/delete', exact: true }).waitFor();
    expect((await fetch(`${open.url}/v2/scratch/delete/manifests/${doomedReferrer}`, { method: 'HEAD' })).status).toBe(404);
    await finish(page);
  });

  it('with NIMBUS_AUTH=on, asks for a login, then browses with the token service and offers no delete without the grant', async () => {
    const page = await newPage(locked.url);
    const tokenRequests: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/token') tokenRequests.push(request.method());
    });
    await page.goto(`${locked.url}/ui/`);
    await page.getByRole('heading', { name: 'Log in to browse' }).waitFor();
    await page.getByLabel('User').fill('viewer');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).not.toBe('');
    await page.getByLabel('Password').fill('viewer-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'private/thing' }).click();
    await page.locator('tr[data-tag="v1"]').waitFor();
    expect(await page.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    expect(await page.getByText('Logged in as viewer').count()).toBe(1);
    // Anonymous token requests first (GET), then the login and its refreshes (POST): the token service only.
    expect(tokenRequests[0]).toBe('GET');
    expect(tokenRequests).toContain('POST');
    await page.screenshot({ path: join(ARTIFACTS, 'login.png') });
    await finish(page);
  });
});
