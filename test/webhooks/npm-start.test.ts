import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNimbus } from '../support/nimbus-cli';
import { WebhookReceiver } from '../support/webhook-receiver';
import { ROOT } from '../local/local-server';
import { exitCode, start, type Started } from '../local/local-server';
import { freePort } from '../../functions/dev/free-port';

const SECRET = 'deploy-on-push-secret';
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Pushes a small image as repository:tag (its manifest unique to the tag); returns the manifest digest. */
async function push(base: string, repository: string, tag: string): Promise<string> {
  const config = new TextEncoder().encode('{}');
  expect((await fetch(`${base}/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status).toBe(201);
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength },
    layers: [], annotations: { tag },
  });
  const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  expect(put.status).toBe(201);
  return sha256(manifest);
}

interface Delivery { event: string; tag?: string; state: string; attempts: number }

async function deliveries(base: string): Promise<Delivery[]> {
  return ((await (await fetch(`${base}/v2/_nimbus/webhooks/deliveries?limit=1000`)).json()) as { deliveries: Delivery[] }).deliveries;
}

describe('webhooks on npm start', () => {
  let dir: string;
  let server: Started;
  const receiver = new WebhookReceiver(SECRET);
  const env = () => ({ HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: join(dir, 'data'), NIMBUS_FSYNC: 'on', NIMBUS_WEBHOOK_BACKOFF_MAX: '1',
    // Retried every second through the 30 s outage below: more attempts than the default 24 before a dead letter.
    NIMBUS_WEBHOOK_MAX_ATTEMPTS: '200' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-webhooks-'));
    await receiver.up();
    server = await start(env());
    const added = await fetch(`${server.url}/v2/_nimbus/webhooks`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/deploy`, events: ['push', 'delete'], repositories: 'team/**', secret: SECRET }),
    });
    expect(added.status).toBe(201);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await exitCode(server.child);
    await receiver.down();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a signed CloudEvent naming repository, tag and digest on a push, at the first attempt', async () => {
    const digest = await push(server.url, 'team/app', 'v1');
    await receiver.until(() => receiver.tagsOf('team/app').includes('v1'));
    const event = receiver.events.find((each) => each.data.tag === 'v1')!;
    expect(event).toMatchObject({
      specversion: '1.0', type: 'io.nimbus.manifest.pushed', source: '/nimbus', subject: 'team/app', verified: true,
      data: { repository: 'team/app', tag: 'v1', digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    });
    // Sent as the push committed, not by a later retry (the outcome is saved just after the receiver answered).
    await expect.poll(async () => (await deliveries(server.url)).find((each) => each.event === event.id)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('delivers every event pushed while the receiver was down for 30 s, in order per repository, once it is back', async () => {
    const pushed = await receiver.outage(30_000, ['team/one', 'team/two', 'team/three'], (repository, tag) => push(server.url, repository, tag), async (tag) =>
      (await deliveries(server.url)).find((each) => each.tag === tag));
    expect(pushed.get('team/three')!.length).toBeGreaterThanOrEqual(3);
    await receiver.expectInOrder(pushed);
  }, 90_000);

  it('delivers after kill -9 between the push and its delivery', async () => {
    await receiver.down();
    const digest = await push(server.url, 'team/crash', 'c1');
    await expect.poll(async () => (await deliveries(server.url)).find((each) => each.tag === 'c1')?.state, { timeout: 20_000 }).toBe('pending');
    server.child.kill('SIGKILL');
    await exitCode(server.child);
    await receiver.up();
    server = await start(env());
    await receiver.until(() => receiver.tagsOf('team/crash').includes('c1'));
    expect(receiver.events.find((event) => event.data.tag === 'c1')!.data.digest).toBe(digest);
  });

  it('runs the README\'s deploy-on-push receiver as written: it deploys on a signed push of latest and refuses a forged one', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const example = /```js\n(\/\/ deploy-on-push\.mjs[\s\S]*?)```/.exec(readme)![1]!;
    const port = await freePort();
    await writeFile(join(dir, 'deploy-on-push.mjs'), example.replace('.listen(8080)', `.listen(${port})`));
    await writeFile(join(dir, 'deploy.sh'), '#!/bin/sh\necho "$1" > deployed.txt\n');
    await chmod(join(dir, 'deploy.sh'), 0o755);
    const receiverProcess = spawn(process.execPath, ['deploy-on-push.mjs'], { cwd: dir, env: { PATH: process.env.PATH, NIMBUS_WEBHOOK_SECRET: SECRET }, stdio: 'ignore' });
    try {
      const hook = `http://127.0.0.1:${port}/`;
      await expect.poll(() => fetch(hook, { method: 'POST', body: '{}', headers: { 'nimbus-signature': 't=1,v1=00' } }).then((r) => r.status, () => 0), { timeout: 20_000 }).toBe(401);
      const added = await fetch(`${server.url}/v2/_nimbus/webhooks`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hook, events: ['push'], repositories: 'team/site', secret: SECRET }),
      });
      expect(added.status).toBe(201);
      const digest = await push(server.url, 'team/site', 'latest');
      await expect.poll(() => readFile(join(dir, 'deployed.txt'), 'utf8').catch(() => ''), { timeout: 10_000 }).toBe(`team/site@${digest}\n`);
      await fetch(`${server.url}/v2/_nimbus/webhooks/${((await added.json()) as { webhook: { id: string } }).webhook.id}`, { method: 'DELETE' });
    } finally {
      receiverProcess.kill('SIGTERM');
    }
  });

  it('refuses a webhook to the cloud metadata address by default, over HTTP and in the CLI', async () => {
    const refused = await fetch(`${server.url}/v2/_nimbus/webhooks`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://169.254.169.254/latest/meta-data/' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ errors: [{ code: 'WEBHOOK_INVALID', message: expect.stringMatching(/169\.254\.169\.254 is a metadata address/) }] });
    const cli = await runNimbus(['webhook', 'add', 'http://[::ffff:169.254.169.254]/', '--registry', server.url]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/metadata address/);
    const list = await runNimbus(['webhook', 'list', '--json', '--registry', server.url]);
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ url: `http://127.0.0.1:${receiver.port}/deploy`, repositories: 'team/**', headerNames: [] }));
    expect(list.stdout).not.toContain(SECRET);
  });
});
