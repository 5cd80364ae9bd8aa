import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { DynamoWebhookStore, webhookSecretName } from '../../functions/adapters/aws/dynamo-webhook-store';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { memorySecretVault, SecretsManagerVault, type SecretVault } from '../../functions/adapters/aws/secret-vault';
import { webhookSecretVault } from '../../functions/adapters/aws/webhook-events';
import type { Webhook, WebhookSecrets } from '../../functions/core/events/ports';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { startSecretsStub } from '../../functions/dev/secrets-stub';
import { EVENTS_SECRET_CACHE_MS, eventsWebhookStore } from '../../functions/lambda/events-pass';
import { runNimbus } from '../support/nimbus-cli';

let emulators: AwsEmulators;
let stores: AwsStores;
let table: string;

const webhook = (id: string): Webhook => ({ id, url: 'http://10.0.0.5/hook', events: ['push'], repositories: '**', headerNames: ['Authorization'], createdAt: 1 });
const secrets: WebhookSecrets = { secret: 's'.repeat(20), headers: { Authorization: 'Bearer abc' } };

/** A vault that counts its reads, and whose writes can be made to fail. */
function observedVault(inner: SecretVault = memorySecretVault()) {
  const calls = { get: 0, failPut: false };
  const vault: SecretVault = {
    get: (name) => (calls.get++, inner.get(name)),
    put: (name, value) => (calls.failPut ? Promise.reject(new Error('Secrets Manager unavailable')) : inner.put(name, value)),
    delete: (name) => inner.delete(name),
  };
  return { vault, calls, inner };
}

async function legacyItem(id: string) {
  return (await stores.clients.dynamodb.send(new GetCommand({ TableName: table, Key: itemKeys.webhookSecret(id), ConsistentRead: true }))).Item;
}

beforeAll(async () => {
  emulators = await startAwsEmulators();
});
afterAll(async () => emulators?.stop());
beforeEach(async () => {
  const resources = await emulators.createResources();
  table = resources.table;
  stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, ...resources });
});

describe('webhook secrets in Secrets Manager (DynamoWebhookStore)', () => {
  it('writes the secret before the webhook item, so a failed write lists no webhook without one; remove deletes it', async () => {
    const { vault, calls, inner } = observedVault();
    const store = new DynamoWebhookStore(stores.clients.dynamodb, table, vault);
    calls.failPut = true;
    await expect(store.add(webhook('wh-failed'), secrets)).rejects.toThrow('Secrets Manager unavailable');
    expect(await store.list()).toEqual([]);

    calls.failPut = false;
    await store.add(webhook('wh-kept'), secrets);
    expect((await store.list()).map((each) => each.id)).toEqual(['wh-kept']);
    expect(JSON.parse((await inner.get(webhookSecretName('wh-kept')))!)).toEqual(secrets);
    expect(await legacyItem('wh-kept')).toBeUndefined();
    expect(await store.secrets('wh-kept')).toEqual(secrets);

    expect(await store.remove('wh-kept')).toBe(true);
    expect(await inner.get(webhookSecretName('wh-kept'))).toBeUndefined();
    expect(await store.secrets('wh-kept')).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });

  it('reads the table item of a stack deployed before the vault when the vault has none, and deletes both on remove', async () => {
    const { vault, inner } = observedVault();
    const store = new DynamoWebhookStore(stores.clients.dynamodb, table, vault);
    await stores.clients.dynamodb.send(new PutCommand({ TableName: table, Item: { ...itemKeys.webhook('wh-old'), webhook: JSON.stringify(webhook('wh-old')) } }));
    await stores.clients.dynamodb.send(new PutCommand({ TableName: table, Item: { ...itemKeys.webhookSecret('wh-old'), secrets: JSON.stringify(secrets) } }));
    expect(await store.secrets('wh-old')).toEqual(secrets);
    // The vault wins once it has one.
    await inner.put(webhookSecretName('wh-old'), JSON.stringify({ ...secrets, secret: 'n'.repeat(20) }));
    expect((await store.secrets('wh-old'))?.secret).toBe('n'.repeat(20));

    expect(await store.remove('wh-old')).toBe(true);
    expect(await legacyItem('wh-old')).toBeUndefined();
    expect(await inner.get(webhookSecretName('wh-old'))).toBeUndefined();
    expect(await store.secrets('wh-old')).toBeUndefined();
  });

  it('lets the events function reuse a secret for a few minutes, not for ever, and forgets it on remove', async () => {
    const { vault, calls } = observedVault();
    let now = 1_000_000;
    const writer = new DynamoWebhookStore(stores.clients.dynamodb, table, vault);
    const events = new DynamoWebhookStore(stores.clients.dynamodb, table, vault, { secretCacheMs: EVENTS_SECRET_CACHE_MS, now: () => now });
    await writer.add(webhook('wh-cached'), secrets);
    for (let pass = 0; pass < 3; pass++) expect(await events.secrets('wh-cached')).toEqual(secrets);
    expect(calls.get).toBe(1);
    now += EVENTS_SECRET_CACHE_MS;
    expect(await events.secrets('wh-cached')).toEqual(secrets);
    expect(calls.get).toBe(2);
    // The registry function (no cache) reads each time.
    await writer.secrets('wh-cached');
    await writer.secrets('wh-cached');
    expect(calls.get).toBe(4);
    await events.remove('wh-cached');
    expect(await events.secrets('wh-cached')).toBeUndefined();
    expect(eventsWebhookStore(stores.clients.dynamodb, table, vault)).toBeInstanceOf(DynamoWebhookStore);
  });

  it('names each secret <prefix>/webhook/<id> in Secrets Manager (the dev:aws stub), kept across a restart of the stub', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nimbus-secrets-'));
    const persistTo = join(dir, 'secrets.json');
    const open = async () => {
      const stub = await startSecretsStub(new Map(), { persistTo });
      const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: stub.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      return { stub, client, store: new DynamoWebhookStore(stores.clients.dynamodb, table, webhookSecretVault(client, { NIMBUS_SECRET_PREFIX: 'nimbus/dev' })) };
    };
    try {
      const first = await open();
      await first.store.add(webhook('wh-stub'), secrets);
      const direct = new SecretsManagerVault(first.client, 'nimbus/dev');
      expect(JSON.parse((await direct.get('webhook/wh-stub'))!)).toEqual(secrets);
      await first.stub.close();

      const second = await open();
      expect(await second.store.secrets('wh-stub')).toEqual(secrets);
      await second.store.remove('wh-stub');
      expect(await new SecretsManagerVault(second.client, 'nimbus/dev').get('webhook/wh-stub')).toBeUndefined();
      await second.stub.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => webhookSecretVault(new SecretsManagerClient({ region: 'us-east-1' }), {})).toThrow(/NIMBUS_SECRET_PREFIX/);
  });

  it('nimbus webhook add on a table puts the secret in the stack\'s Secrets Manager prefix, and refuses when the prefix is unknown', async () => {
    const stub = await startSecretsStub(new Map());
    try {
      const secret = 'cli-secret-of-20-chars';
      const [added, refused] = await Promise.all([
        runNimbus(['webhook', 'add', 'http://10.0.0.5/hook', '--secret-stdin', '--dynamodb-local', emulators.endpoints.dynamodb, '--table', table], {
          input: secret, env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.endpoint },
        }),
        runNimbus(['webhook', 'add', 'http://10.0.0.5/hook', '--table', table, '--region', 'us-east-1']),
      ]);
      expect(added.code, added.stderr).toBe(0);
      const id = /webhook (wh-[0-9a-z]+) added/.exec(added.stdout)![1]!;
      const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: stub.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
      expect(JSON.parse((await new SecretsManagerVault(client, 'nimbus/dev').get(`webhook/${id}`))!)).toMatchObject({ secret });
      expect(await legacyItem(id)).toBeUndefined();
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/--stack NAME, or set NIMBUS_SECRET_PREFIX/);
    } finally {
      await stub.close();
    }
  }, 60_000); // spawns the CLI twice (tsx start-up)
});
