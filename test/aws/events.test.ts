import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { DynamoOutbox } from '../../functions/adapters/aws/dynamo-outbox';
import { DynamoWebhookStore } from '../../functions/adapters/aws/dynamo-webhook-store';
import { EventRecorder } from '../../functions/core/events/recorder';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { awsWebhookEvents, type EventSettings } from '../../functions/adapters/aws/webhook-events';
import { cloudEvent, EVENT_TYPES, type CloudEvent } from '../../functions/core/events/cloud-events';
import type { WebhookTransport } from '../../functions/core/events/ports';
import { verifySignature } from '../../functions/core/events/signing';
import { createRegistry, type Registry } from '../../functions/core/index';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { eventsWebhookStore, runEventsPass } from '../../functions/lambda/events-pass';
import { SecretsManagerVault } from '../../functions/adapters/aws/secret-vault';
import { startSecretsStub, type SecretsStub } from '../../functions/dev/secrets-stub';
import { RegistryClient, uniqueRepo } from '../api/client';
import { runNimbus } from '../support/nimbus-cli';

const settings: EventSettings = { bus: 'nimbus-bus', addresses: 'private', timeoutMs: 2000, backoff: { baseMs: 1000, maxMs: 4000, maxAttempts: 3 } };
const logger = { log() {} };
const eventBridge = mockClient(EventBridgeClient);
const bridged: CloudEvent[] = [];

let emulators: AwsEmulators;
let secretsStub: SecretsStub;
let vault: SecretsManagerVault;
let stores: AwsStores;
let table: string;
let registry: Registry;
let client: RegistryClient;
let time: number;
const clock = { now: () => time };

/** A receiver in memory: `answer` decides each status; it keeps what it accepted, with the signature header. */
function receiver(answer: () => number) {
  const received: Array<{ event: CloudEvent; body: string; signature: string }> = [];
  const transport: WebhookTransport = {
    async post(_url, headers, body) {
      const status = answer();
      if (status < 300) received.push({ event: JSON.parse(body) as CloudEvent, body, signature: headers['Nimbus-Signature']! });
      return status;
    },
  };
  return { received, transport };
}

beforeAll(async () => {
  emulators = await startAwsEmulators();
  secretsStub = await startSecretsStub(new Map());
});
afterAll(async () => {
  await secretsStub?.close();
  await emulators?.stop();
});

beforeEach(async () => {
  const resources = await emulators.createResources();
  table = resources.table;
  const bucket = resources.bucket;
  stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
  // Webhook secrets in (the dev stub of) Secrets Manager, under a prefix of this test's own.
  vault = new SecretsManagerVault(new SecretsManagerClient({
    region: 'us-east-1', endpoint: secretsStub.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  }), `nimbus/${table}`);
  registry = createRegistry({
    blobs: stores.blobs, metadata: stores.metadata, gc: stores.gc, config: { uploadSecret: new Uint8Array(32).fill(9) },
    events: awsWebhookEvents(stores.clients.dynamodb, table, vault, settings, logger),
  });
  client = new RegistryClient(registry.fetch);
  // Ahead of the registry's clock (which stamps entries due now): everything recorded is due.
  time = Date.now() + 60_000;
  bridged.length = 0;
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: Array<{ Detail: string; EventBusName: string; Source: string; DetailType: string }> }) => {
    for (const entry of input.Entries) {
      expect([entry.EventBusName, entry.Source]).toEqual(['nimbus-bus', 'nimbus']);
      const event = JSON.parse(entry.Detail) as CloudEvent;
      expect(entry.DetailType).toBe(event.type);
      bridged.push(event);
    }
    return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: crypto.randomUUID() })) };
  });
});

async function addWebhook(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const response = await client.send('POST', '/v2/_nimbus/webhooks', { body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  const answer = (await response.json()) as { webhook: { id: string }; secret: string };
  return { id: answer.webhook.id, secret: answer.secret };
}

function pass(transport: WebhookTransport) {
  return runEventsPass({
    doc: stores.clients.dynamodb, table, metadata: stores.metadata, webhooks: eventsWebhookStore(stores.clients.dynamodb, table, vault),
    eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
    settings, clock, logger, transport,
  }, 60_000);
}

describe('webhooks and EventBridge on DynamoDB (the events function)', () => {
  it('keeps webhooks in the table and their secrets in Secrets Manager; delivers signed events in order per repository and puts every event on the bus', async () => {
    const hook = await addWebhook({ url: 'http://10.0.0.5/hook', repositories: 'team/**', secret: 'a-secret-of-16-chars!' });
    const listed = await (await client.send('GET', '/v2/_nimbus/webhooks')).text();
    expect(listed).toContain(hook.id);
    expect(listed).not.toContain('a-secret-of-16-chars!');
    const stored = await stores.clients.dynamodb.send(new GetCommand({ TableName: table, Key: itemKeys.webhook(hook.id) }));
    expect(JSON.stringify(stored.Item)).not.toContain('a-secret-of-16-chars!');
    expect(JSON.parse((await vault.get(`webhook/${hook.id}`))!)).toMatchObject({ secret: 'a-secret-of-16-chars!' });
    expect((await stores.clients.dynamodb.send(new GetCommand({ TableName: table, Key: itemKeys.webhookSecret(hook.id) }))).Item).toBeUndefined();

    const repository = `team/${uniqueRepo('ev')}`;
    const first = await client.pushImage(repository, 'v1');
    const second = await client.pushImage(repository, 'v2');
    const elsewhere = await client.pushImage(uniqueRepo('other'), 'v1');
    const { received, transport } = receiver(() => 200);
    expect(await pass(transport)).toMatchObject({ delivered: 5, failed: 0 }); // 2 to the webhook, 3 to the bus

    expect(received.map(({ event }) => [event.type, event.data.repository, event.data.tag, event.data.digest])).toEqual([
      [EVENT_TYPES.manifestPushed, repository, 'v1', first.digest], [EVENT_TYPES.manifestPushed, repository, 'v2', second.digest],
    ]);
    for (const { body, signature } of received) expect(await verifySignature('a-secret-of-16-chars!', body, signature, time)).toBe(true);
    // The bus gets every event, watched or not, in order.
    expect(bridged.map((event) => event.data.digest)).toEqual(expect.arrayContaining([first.digest, second.digest, elsewhere.digest]));
    expect(bridged.filter((event) => event.subject === repository).map((event) => event.data.tag)).toEqual(['v1', 'v2']);
    // Nothing is delivered twice, and nothing is owed any more (no open copies are left).
    expect(await pass(transport)).toMatchObject({ delivered: 0, failed: 0 });
    expect(await new DynamoOutbox(stores.clients.dynamodb, table).pending()).toEqual([]);
  });

  it('retries with backoff while the receiver is down, holds back the repository\'s later events, then dead-letters after the last attempt', async () => {
    const hook = await addWebhook({ url: 'http://10.0.0.5/hook' });
    const repository = uniqueRepo('down');
    const first = await client.pushImage(repository, 'v1');
    const second = await client.pushImage(repository, 'v2');
    let status = 503;
    const { received, transport } = receiver(() => status);
    expect(await pass(transport)).toMatchObject({ delivered: 2, failed: 1 }); // the bus took both; the webhook failed v1 and held v2
    const outbox = new DynamoOutbox(stores.clients.dynamodb, table);
    const states = async () => (await outbox.recent(10)).reverse().map((entry) => entry.deliveries.find((each) => each.webhook === hook.id));
    expect((await states()).map((state) => [state?.state, state?.attempts])).toEqual([['pending', 1], ['pending', 0]]);
    // Not due yet: nothing is tried.
    expect(await pass(transport)).toMatchObject({ delivered: 0, failed: 0 });
    time += 1000;
    status = 200;
    expect(await pass(transport)).toMatchObject({ delivered: 2, failed: 0 });
    expect(received.map(({ event }) => event.data.digest)).toEqual([first.digest, second.digest]);

    status = 500;
    await client.pushImage(repository, 'v3');
    for (let attempt = 0; attempt < 3; attempt++) {
      await pass(transport);
      time += 5000;
    }
    const last = (await states()).at(-1);
    expect([last?.state, last?.attempts, last?.lastStatus]).toEqual(['dead', 3, 500]);
    // The CLI shows the dead letter, from the table.
    const shown = await runNimbus(['--dynamodb-local', emulators.endpoints.dynamodb, '--table', table, 'webhook', 'deliveries', '--state', 'dead', '--json']);
    const dead = JSON.parse(shown.stdout) as Array<Record<string, unknown>>;
    expect(dead.map((each) => [each.webhook, each.state, each.attempts])).toEqual([[hook.id, 'dead', 3]]);
  }, 60_000); // spawns the CLI once (tsx start-up)

  it('delivers the event of a change whose registry invocation crashed before committing it (recovered from its journal)', async () => {
    await addWebhook({ url: 'http://10.0.0.5/hook' });
    const repository = uniqueRepo('crash');
    const pushed = await client.pushImage(repository, 'v1');
    // What a crash between the change and its commit leaves: the journal item, no entry.
    const outbox = new DynamoOutbox(stores.clients.dynamodb, table, { now: () => time });
    const event = cloudEvent(EVENT_TYPES.manifestPushed, { repository, digest: pushed.digest, tag: 'v1' }, time);
    await outbox.prepare([event]);
    const { received, transport } = receiver(() => 200);
    await pass(transport);
    // A journal this young may belong to a request still running: left alone.
    expect(received.map(({ event: each }) => each.id)).not.toContain(event.id);
    time += 16 * 60_000;
    expect(await pass(transport)).toMatchObject({ recovered: 1 });
    expect(received.map(({ event: each }) => each.id)).toContain(event.id);
    expect(bridged.map((each) => each.id)).toContain(event.id);
  });

  it('retries what the bus refused (a failed call, or one entry of a batch) in order, like a webhook delivery', async () => {
    const repository = uniqueRepo('bus');
    const first = await client.pushImage(repository, 'v1');
    const second = await client.pushImage(repository, 'v2');
    const { transport } = receiver(() => 200);
    const answers: Array<() => unknown> = [
      () => { throw new Error('throttled'); },
      () => ({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] }),
      () => ({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] }),
    ];
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).callsFake(() => answers.shift()!());
    expect(await pass(transport)).toMatchObject({ delivered: 0, failed: 1 });
    time += 1000;
    expect(await pass(transport)).toMatchObject({ delivered: 1, failed: 1 });
    const outbox = new DynamoOutbox(stores.clients.dynamodb, table);
    const last = (await outbox.recent(1))[0]!.deliveries[0]!;
    expect([last.webhook, last.state, last.lastError]).toEqual(['eventbridge', 'pending', 'EventBridge InternalFailure: try again']);
    time += 2000;
    expect(await pass(transport)).toMatchObject({ delivered: 1, failed: 0 });
    expect(eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.map((entry) => (JSON.parse(entry.Detail!) as CloudEvent).data.digest)))
      .toEqual([[first.digest, second.digest], [first.digest, second.digest], [second.digest]]);
  });

  it('records the blob bytes garbage collection deletes in the table\'s outbox with the deletion, and delivers them', async () => {
    await addWebhook({ url: 'http://10.0.0.5/all', events: ['delete'], secret: 'a-secret-of-16-chars!' });
    const repository = uniqueRepo('gc');
    const image = await client.pushImage(repository, 'v1');
    expect((await client.send('DELETE', `/v2/${repository}/manifests/${image.digest}`)).status).toBe(202);
    const gcEvents = async () => {
      expect((await client.send('POST', '/v2/_nimbus/gc?minAge=0')).status).toBe(200);
      return (await new DynamoOutbox(stores.clients.dynamodb, table).recent(100)).filter((entry) => entry.event.data.reason === 'gc');
    };
    await expect.poll(async () => (await gcEvents()).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const entries = await gcEvents();
    expect(entries.every((entry) => entry.event.type === EVENT_TYPES.blobDeleted && entry.event.data.repository === '')).toBe(true);
    expect(entries.map((entry) => entry.event.data.digest)).toEqual(expect.arrayContaining([image.config.digest, ...image.layers.map((layer) => layer.digest)]));
    for (const entry of entries) {
      expect(entry.event.data.size).toBeGreaterThan(0);
      expect((await stores.metadata.getBlob(entry.event.data.digest))).toBeUndefined();
    }
    const { received, transport } = receiver(() => 200);
    await pass(transport);
    expect(received.map(({ event }) => event.data.digest)).toEqual(expect.arrayContaining(entries.map((entry) => entry.event.data.digest)));
    expect(bridged.map((event) => event.id)).toEqual(expect.arrayContaining(entries.map((entry) => entry.event.id)));
  });

  it('keeps a repository\'s order across registry function containers: changes made one after another, passes in between', async () => {
    await addWebhook({ url: 'http://10.0.0.5/hook', repositories: 'team/**', secret: 'a-secret-of-16-chars!' });
    // Another container of the registry function: its own recorder, the same table and sequence.
    const other = new RegistryClient(createRegistry({
      blobs: stores.blobs, metadata: stores.metadata, config: { uploadSecret: new Uint8Array(32).fill(9) },
      events: awsWebhookEvents(stores.clients.dynamodb, table, vault, settings, logger),
    }).fetch);
    const repository = `team/${uniqueRepo('containers')}`;
    const { received, transport } = receiver(() => 200);
    const tags = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    for (const [index, tag] of tags.entries()) {
      await (index % 2 === 0 ? client : other).pushImage(repository, tag);
      // The schedule or the stream may run a pass at any point between changes.
      if (index % 3 === 1) await pass(transport);
    }
    await pass(transport);
    expect(received.filter(({ event }) => event.subject === repository).map(({ event }) => event.data.tag)).toEqual(tags);
  });

  it('records for webhooks another function added once the list it trusts expires', async () => {
    const outbox = new DynamoOutbox(stores.clients.dynamodb, table);
    const recorder = new EventRecorder({
      outbox, webhooks: new DynamoWebhookStore(stores.clients.dynamodb, table, vault), clock, logger, sinks: ['eventbridge'], webhookCacheMs: 10_000,
    });
    const targets = async () => {
      const event = cloudEvent(EVENT_TYPES.manifestPushed, { repository: 'team/app', digest: 'sha256:0' }, time);
      await recorder.record('team/app', [event], async () => true);
      return (await outbox.recent(1))[0]!.deliveries.map((each) => each.webhook);
    };
    expect(await targets()).toEqual(['eventbridge']);
    // Added elsewhere (another registry function, or nimbus --table).
    await new DynamoWebhookStore(stores.clients.dynamodb, table, vault).add(
      { id: 'wh-elsewhere', url: 'http://10.0.0.5/', events: ['push'], repositories: '**', headerNames: [], createdAt: time }, { secret: 'x'.repeat(16), headers: {} });
    time += 5000;
    expect(await targets()).toEqual(['eventbridge']);
    time += 6000;
    expect(await targets()).toEqual(['wh-elsewhere', 'eventbridge']);
  });
});
