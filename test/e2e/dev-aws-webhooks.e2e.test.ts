import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';
import { WebhookReceiver } from '../support/webhook-receiver';

const SECRET = 'dev-aws-webhook-secret';
const sha256 = (bytes: Uint8Array | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface Delivery { event: string; tag?: string; state: string; attempts: number; webhook?: string }

/**
 * Issue 13 on the deployed path, offline: `npm run dev:aws` runs the events function's pass
 * in process (functions/dev/events-loop.ts), so a webhook added through the API receives
 * signed CloudEvents from the DynamoDB outbox, across receiver outages and a kill -9.
 */
describe('webhooks on dev:aws', () => {
  let registry: RunningDevAws;
  const receiver = new WebhookReceiver(SECRET);
  const auth = () => authHeaders(registry);

  /** Pushes a small image as repository:tag (its manifest unique to the tag); returns the manifest digest. */
  async function push(repository: string, tag: string): Promise<string> {
    const config = new TextEncoder().encode('{}');
    const blob = await fetch(`${registry.url}/v2/${repository}/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config, headers: auth() });
    expect(blob.status).toBe(201);
    const manifest = JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.byteLength },
      layers: [], annotations: { tag },
    });
    const put = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
      method: 'PUT', body: manifest, headers: { ...auth(), 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(put.status, await put.clone().text()).toBe(201);
    return sha256(manifest);
  }

  /** The registry's own record of its deliveries: the webhook's, or with `bus` the EventBridge copies. */
  async function deliveries(bus = false): Promise<Delivery[]> {
    const response = await fetch(`${registry.url}/v2/_nimbus/webhooks/deliveries?limit=1000`, { headers: auth() });
    expect(response.status).toBe(200);
    return ((await response.json()) as { deliveries: Delivery[] }).deliveries.filter((each) => (each.webhook === 'eventbridge') === bus);
  }

  beforeAll(async () => {
    await receiver.up();
    registry = await devAwsTarget({ uploadEndpoint: false }).start();
    const added = await fetch(`${registry.url}/v2/_nimbus/webhooks`, {
      method: 'POST', headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/deploy`, events: ['push', 'delete'], repositories: 'team/**', secret: SECRET }),
    });
    expect(added.status, await added.clone().text()).toBe(201);
  }, 180_000);
  afterAll(async () => {
    await registry?.stop();
    await receiver.down();
  }, 60_000);

  it('sends a signed CloudEvent naming repository, tag and digest on a push, at the first attempt', async () => {
    const digest = await push('team/app', 'v1');
    await receiver.until(() => receiver.tagsOf('team/app').includes('v1'));
    const event = receiver.events.find((each) => each.data.tag === 'v1')!;
    expect(event).toMatchObject({
      specversion: '1.0', type: 'io.nimbus.manifest.pushed', source: '/nimbus', subject: 'team/app', verified: true,
      data: { repository: 'team/app', tag: 'v1', digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await expect.poll(async () => (await deliveries()).find((each) => each.event === event.id), { timeout: 10_000 }).toMatchObject({ state: 'delivered', attempts: 1 });
    // No EventBridge emulator: the bus's copy is logged and settled, not retried for ever.
    await expect.poll(async () => (await deliveries(true)).find((each) => each.event === event.id), { timeout: 10_000 }).toMatchObject({ state: 'delivered' });
    expect(registry.logs()).toContain('EventBridge not emulated in dev:aws');
  }, 30_000);

  it('delivers every event pushed while the receiver was down for 30 s, in order per repository, once it is back', async () => {
    const pushed = await receiver.outage(30_000, ['team/one', 'team/two'], push, async (tag) =>
      (await deliveries()).find((each) => each.tag === tag));
    expect(pushed.get('team/two')!.length).toBeGreaterThanOrEqual(3);
    await receiver.expectInOrder(pushed);
  }, 120_000);

  it('delivers after kill -9 of dev:aws between the push and its delivery, restarted on the same emulator data', async () => {
    await receiver.down();
    const digest = await push('team/crash', 'c1');
    await expect.poll(async () => (await deliveries()).find((each) => each.tag === 'c1'), { timeout: 20_000 }).toMatchObject({ state: 'pending' });
    await registry.crashAndRestart();
    await receiver.up();
    await receiver.until(() => receiver.tagsOf('team/crash').includes('c1'));
    expect(receiver.events.find((event) => event.data.tag === 'c1')).toMatchObject({ verified: true, data: { digest } });
  }, 120_000);
});
