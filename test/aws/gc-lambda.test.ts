import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoGcStore } from '../../functions/adapters/aws/index';
import { DynamoOutbox } from '../../functions/adapters/aws/dynamo-outbox';
import { awsWebhookEvents, NO_WEBHOOK_SECRETS, readEventSettings } from '../../functions/adapters/aws/webhook-events';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { GC_METRICS_NAMESPACE, gcEventOf, runGcInvocation, WRAP_UP_MS, type GcEvent, type GcPassDeps } from '../../functions/lambda/gc-pass';
import { RegistryClient, rand, sha256, uniqueRepo } from '../api/client';
import { awsRegistry, type AwsRegistryFixture } from './fixture';

let emulators: AwsEmulators;
let fixture: AwsRegistryFixture;
beforeAll(async () => {
  emulators = await startAwsEmulators();
  fixture = await awsRegistry(emulators);
});
afterAll(async () => emulators?.stop());

describe('the GC Lambda pass', () => {
  it('stops by the deadline, resumes in chained invocations until done, reports EMF metrics each time, and records each deleted blob in the outbox', async () => {
    const client = new RegistryClient(fixture.registry.fetch);
    const repository = uniqueRepo('gc-lambda');
    const loose = Array.from({ length: 12 }, (_, index) => rand(100 + index));
    for (const bytes of loose) {
      await client.pushBlob(repository, bytes);
      expect((await client.send('DELETE', `/v2/${repository}/blobs/${sha256(bytes)}`)).status).toBe(202);
    }
    // An hour on (the blobs are past "still completing"), and every reading of the clock a
    // second later: a deadline 5 s out stops a pass after a few reviews.
    let time = Date.now() + 3_600_000;
    const clock = { now: () => (time += 1000) };
    const gc = new DynamoGcStore(fixture.stores.clients.dynamodb, fixture.stores.clients.s3, { table: fixture.table, bucket: fixture.bucket, now: () => time });
    const lines: string[] = [];
    const queued: GcEvent[] = [{}];
    const logs: string[] = [];
    let invocations = 0;
    while (queued.length > 0) {
      const event = queued.shift()!;
      invocations++;
      await runGcInvocation({
        gc, metadata: fixture.stores.metadata, clock, minAgeMs: 0, maxChain: 50,
        logger: { log: (_level, message) => logs.push(message) },
        // As functions/lambda/gc.ts wires it: every event goes to the bus, so each deletion is recorded.
        events: awsWebhookEvents(fixture.stores.clients.dynamodb, fixture.table, NO_WEBHOOK_SECRETS, readEventSettings({}), { log() {} }),
        emit: (line) => lines.push(line),
        resume: async (next) => {
          queued.push(next);
        },
      }, event, WRAP_UP_MS + 5000);
    }
    expect(invocations).toBeGreaterThan(1);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(invocations);
    expect(records.map((record) => record.Chain)).toEqual(Array.from({ length: invocations }, (_, index) => index + 1));
    expect(records.slice(0, -1).every((record) => record.Incomplete === 1)).toBe(true);
    expect(records.at(-1)!.Incomplete).toBe(0);
    const deleted = records.reduce((sum, record) => sum + (record.BlobsDeleted as number), 0);
    expect(deleted).toBe(loose.length);
    const bytes = records.reduce((sum, record) => sum + (record.BytesReclaimed as number), 0);
    expect(bytes).toBe(loose.reduce((sum, blob) => sum + blob.byteLength, 0));
    for (const blob of loose) expect(await fixture.stores.metadata.getBlob(sha256(blob))).toBeUndefined();
    const recorded = (await new DynamoOutbox(fixture.stores.clients.dynamodb, fixture.table).recent(1000))
      .filter((entry) => entry.event.type === 'io.nimbus.blob.deleted' && entry.event.data.reason === 'gc');
    expect(recorded.map((entry) => [entry.event.data.digest, entry.event.data.size, entry.deliveries.map((each) => each.webhook)]).sort())
      .toEqual(loose.map((blob) => [sha256(blob), blob.byteLength, ['eventbridge']]).sort());
    // The EMF envelope CloudWatch needs: a namespace, dimension sets and metrics named as top-level fields.
    for (const record of records) {
      const aws = record._aws as { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
      expect(typeof aws.Timestamp).toBe('number');
      expect(aws.CloudWatchMetrics[0]!.Namespace).toBe(GC_METRICS_NAMESPACE);
      for (const dimension of aws.CloudWatchMetrics[0]!.Dimensions.flat()) expect(typeof record[dimension]).toBe('string');
      for (const metric of aws.CloudWatchMetrics[0]!.Metrics) expect(typeof record[metric.Name], metric.Name).toBe('number');
      expect(aws.CloudWatchMetrics[0]!.Metrics.map((metric) => metric.Name)).toEqual(expect.arrayContaining(['BytesReclaimed', 'BlobsDeleted', 'Duration']));
    }
  });

  it('stops chaining after the most invocations, leaving the rest to the next scheduled run', async () => {
    const gc = new DynamoGcStore(fixture.stores.clients.dynamodb, fixture.stores.clients.s3, { table: fixture.table, bucket: fixture.bucket });
    const client = new RegistryClient(fixture.registry.fetch);
    const repository = uniqueRepo('gc-lambda');
    for (let index = 0; index < 3; index++) await client.pushBlob(repository, rand(50 + index));
    let time = Date.now();
    const resumed: GcEvent[] = [];
    const report = await runGcInvocation({
      gc, metadata: fixture.stores.metadata, clock: { now: () => (time += 10_000) }, minAgeMs: 0, maxChain: 3,
      logger: { log: () => {} }, emit: () => {}, resume: async (next) => { resumed.push(next); },
    }, { chain: 3 }, WRAP_UP_MS + 5000);
    expect(report.complete).toBe(false);
    expect(resumed).toEqual([]);
  });

  it('runs retention first on a scheduled event, as a manual run does (events with reason retention); a resumed invocation never runs it', async () => {
    const client = new RegistryClient(fixture.registry.fetch);
    const repository = uniqueRepo('gc-retention');
    const old = await client.pushImage(repository, 'v1');
    await client.pushImage(repository, 'v2');
    await fixture.stores.policies.put('retention', { version: 1, rules: [{ repositories: repository, keepLast: 1 }] });
    const { metadata, policies, clients } = fixture.stores;
    const events = awsWebhookEvents(clients.dynamodb, fixture.table, NO_WEBHOOK_SECRETS, readEventSettings({}), { log() {} });
    const clock = { now: () => Date.now() };
    const resumed: GcEvent[] = [];
    const deps: GcPassDeps = {
      gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table: fixture.table, bucket: fixture.bucket }), metadata, clock, minAgeMs: 86_400_000, maxChain: 8,
      logger: { log: () => {} }, emit: () => {}, resume: async (next) => { resumed.push(next); }, events,
      retention: { metadata, inventory: metadata, policies, clock, events },
    };
    const tags = async () => (await metadata.listTags(repository, { limit: 10 })).items;

    // A resumption carries a chain: retention is not run again, even if the event says so.
    expect(gcEventOf({ full: false, retention: true, chain: 2 })).toEqual({ full: false, dryRun: false, chain: 2 });
    await runGcInvocation(deps, gcEventOf({ full: false, retention: true, chain: 2 }), 900_000);
    await runGcInvocation(deps, { full: false, retention: true, chain: 2 }, 900_000);
    expect(await tags()).toEqual(['v1', 'v2']);

    // The schedule's event.
    await runGcInvocation(deps, gcEventOf({ full: false, retention: true }), 900_000);
    expect(await tags()).toEqual(['v2']);
    expect(resumed).toEqual([]);
    const recorded = (await new DynamoOutbox(clients.dynamodb, fixture.table).recent(1000))
      .filter((entry) => entry.event.type === 'io.nimbus.tag.deleted' && entry.event.data.repository === repository);
    expect(recorded.map((entry) => [entry.event.data.tag, entry.event.data.digest, entry.event.data.reason])).toEqual([['v1', old.digest, 'retention']]);
  });

  it('bounds the schedule\'s retention by the pass\'s deadline: out of time, it deletes nothing, logs an error, and the pass resumes', async () => {
    const client = new RegistryClient(fixture.registry.fetch);
    const repository = uniqueRepo('gc-retention-late');
    await client.pushImage(repository, 'v1');
    await client.pushImage(repository, 'v2');
    await fixture.stores.policies.put('retention', { version: 1, rules: [{ repositories: repository, keepLast: 1 }] });
    const { metadata, policies, clients } = fixture.stores;
    // Each reading of the clock a second later; 1.5 s for the work: retention reads it twice before listing the first repository.
    let time = Date.now();
    const clock = { now: () => (time += 1000) };
    const logs: Array<[string, string]> = [];
    const resumed: GcEvent[] = [];
    await runGcInvocation({
      gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table: fixture.table, bucket: fixture.bucket }), metadata, clock, minAgeMs: 86_400_000, maxChain: 8,
      logger: { log: (level, message) => logs.push([level, message]) }, emit: () => {}, resume: async (next) => { resumed.push(next); },
      retention: { metadata, inventory: metadata, policies, clock },
    }, gcEventOf({ full: false, retention: true }), WRAP_UP_MS + 1500);
    expect((await metadata.listTags(repository, { limit: 10 })).items).toEqual(['v1', 'v2']);
    expect(logs).toContainEqual(['error', 'scheduled retention run failed; the gc pass goes on, the next schedule tries again']);
    expect(resumed).toEqual([{ full: false, dryRun: false, chain: 2 }]);
  });
});
