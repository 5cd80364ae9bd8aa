import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { DynamoLeases } from '../../functions/adapters/aws/dynamo-leases';
import { DynamoOutbox } from '../../functions/adapters/aws/dynamo-outbox';
import { DynamoWebhookStore } from '../../functions/adapters/aws/dynamo-webhook-store';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { SecretsManagerVault } from '../../functions/adapters/aws/secret-vault';
import { cloudEvent, EVENT_TYPES } from '../../functions/core/events/cloud-events';
import { EventRecorder } from '../../functions/core/events/recorder';
import type { Leases } from '../../functions/core/ports';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { startSecretsStub, type SecretsStub } from '../../functions/dev/secrets-stub';
import { uniqueRepo } from '../api/client';

// Changes of one repository made by different registry function containers at overlapping times
// (functions/core/events/order-lease.ts); changes made one after another: events.test.ts.
const logger = { log() {} };
const time = Date.now();
const clock = { now: () => time };

let emulators: AwsEmulators;
let secretsStub: SecretsStub;
let stores: AwsStores;
let table: string;
let vault: SecretsManagerVault;

beforeAll(async () => {
  emulators = await startAwsEmulators();
  secretsStub = await startSecretsStub(new Map());
  const resources = await emulators.createResources();
  table = resources.table;
  stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket: resources.bucket });
  vault = new SecretsManagerVault(new SecretsManagerClient({
    region: 'us-east-1', endpoint: secretsStub.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  }), `nimbus/${table}`);
});
afterAll(async () => {
  await secretsStub?.close();
  await emulators?.stop();
});

describe('event order across registry function containers (DynamoDB)', () => {
  it('gives overlapping changes made in different containers seqs in the order the changes happened (order lease)', async () => {
    const outbox = new DynamoOutbox(stores.clients.dynamodb, table);
    let refused: (() => void) | undefined;
    /** A container's recorder: its own lease handle on the table, which tells when it was refused. */
    const container = () => {
      const dynamo = new DynamoLeases(stores.clients.dynamodb, table, itemKeys.eventOrderLease, 'event order lease');
      const leases: Leases = {
        acquire: async (key, ttlMs) => {
          const taken = await dynamo.acquire(key, ttlMs);
          if (!taken) refused?.();
          return taken;
        },
        release: (key) => dynamo.release(key),
      };
      return new EventRecorder({
        outbox, webhooks: new DynamoWebhookStore(stores.clients.dynamodb, table, vault), clock, logger, sinks: ['eventbridge'],
        orderLeases: { leases, ttlMs: 30_000, waitMs: 20_000 },
      });
    };
    const containers = [container(), container()];
    const repository = `team/${uniqueRepo('overlap')}`;
    const changes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const [early, late] = round % 2 === 0 ? containers : [containers[1]!, containers[0]!];
      const earlyEvent = cloudEvent(EVENT_TYPES.manifestPushed, { repository, digest: 'sha256:0', tag: `early-${round}` }, time);
      const lateEvent = cloudEvent(EVENT_TYPES.manifestPushed, { repository, digest: 'sha256:0', tag: `late-${round}` }, time);
      let inside!: () => void;
      const earlyInside = new Promise<void>((resolve) => (inside = resolve));
      let finish!: () => void;
      const earlyMayFinish = new Promise<void>((resolve) => (finish = resolve));
      const lateRefused = new Promise<void>((resolve) => (refused = resolve));
      // The early change is made, then held before its entries are written: the window in
      // which, unordered, a later change from another container could commit its entry first.
      const first = early!.record(repository, [earlyEvent], async () => {
        changes.push(earlyEvent.id);
        inside();
        await earlyMayFinish;
        return true;
      });
      await earlyInside;
      const second = late!.record(repository, [lateEvent], async () => {
        changes.push(lateEvent.id);
        return true;
      });
      await lateRefused;
      finish();
      await Promise.all([first, second]);
    }
    const entries = (await outbox.recent(8)).sort((a, b) => a.seq - b.seq);
    expect(entries.map((entry) => entry.event.id)).toEqual(changes);
    expect(changes).toHaveLength(8);
  });
});
