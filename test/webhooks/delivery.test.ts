import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsOutbox } from '../../functions/adapters/fs/outbox';
import { FsWebhookStore } from '../../functions/adapters/fs/webhook-store';
import { nodeWebhookTransport } from '../../functions/adapters/node/webhook-transport';
import { cloudEvent, EVENT_TYPES, REGISTRY_WIDE, type CloudEvent } from '../../functions/core/events/cloud-events';
import { DeliveryWorker, type DeliveryOptions } from '../../functions/core/events/delivery';
import type { WebhookTransport } from '../../functions/core/events/ports';
import { EventRecorder } from '../../functions/core/events/recorder';
import type { MetadataStore } from '../../functions/core/index';

const clock = { now: () => Date.now() };
const logger = { log() {} };
const fast: DeliveryOptions = { timeoutMs: 2000, backoff: { baseMs: 5, maxMs: 20, maxAttempts: 1000 } };

/** A receiver in memory: `answer` decides each status; `until` resolves once `done` holds. */
function fakeReceiver(answer: (event: CloudEvent) => number) {
  const received: CloudEvent[] = [];
  const calls = { count: 0 };
  const waiters: Array<() => void> = [];
  const transport: WebhookTransport = {
    async post(_url, _headers, body) {
      const event = JSON.parse(body) as CloudEvent;
      const status = answer(event);
      calls.count++;
      if (status < 300) received.push(event);
      for (const wake of waiters.splice(0)) wake();
      return status;
    },
  };
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { transport, received, until, calls };
}

function pushed(repository: string, tag: string): CloudEvent {
  return cloudEvent(EVENT_TYPES.manifestPushed, { repository, tag, digest: `sha256:${tag}` }, Date.now());
}

describe('webhook delivery', () => {
  let dir: string;
  let webhooks: FsWebhookStore;
  let outbox: FsOutbox;
  let recorder: EventRecorder;
  const workers: DeliveryWorker[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-webhooks-'));
    webhooks = new FsWebhookStore(dir, { fsync: false });
    outbox = new FsOutbox(dir, { fsync: false });
    recorder = new EventRecorder({ outbox, webhooks, clock, logger });
    await webhooks.add({ id: 'wh-000000000001', url: 'http://receiver.test/', events: ['push', 'delete'], repositories: '**', headerNames: [], createdAt: 1 },
      { secret: 'a-secret-of-16-chars', headers: {} });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) worker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function worker(transport: WebhookTransport, options: DeliveryOptions = fast): DeliveryWorker {
    const created = new DeliveryWorker({ outbox, webhooks, transport, clock, logger }, options);
    recorder.onCommit((entries) => created.add(entries));
    workers.push(created);
    return created;
  }

  const record = (event: CloudEvent) => recorder.record(event.data.repository, [event], async () => true);

  it('delivers every event once the receiver recovers, in order per repository, without one repository holding back another', async () => {
    let aFailures = 0;
    const receiver = fakeReceiver((event) => (event.data.repository === 'team/a' && aFailures++ < 8 ? 503 : 200));
    await worker(receiver.transport).start();
    const events = [pushed('team/a', '1'), pushed('team/b', '1'), pushed('team/a', '2'), pushed('team/b', '2'), pushed('team/a', '3')];
    for (const event of events) await record(event);
    await receiver.until(() => receiver.received.length === events.length);
    const tagsOf = (repository: string) => receiver.received.filter((e) => e.data.repository === repository).map((e) => e.data.tag);
    expect(tagsOf('team/a')).toEqual(['1', '2', '3']);
    expect(tagsOf('team/b')).toEqual(['1', '2']);
    // team/b went through while team/a's first event was still failing.
    expect(receiver.received.findIndex((e) => e.data.repository === 'team/b')).toBeLessThan(receiver.received.findIndex((e) => e.data.repository === 'team/a'));
    expect(new Set(receiver.received.map((e) => e.id))).toEqual(new Set(events.map((e) => e.id)));
  });

  it('keeps per-repository order when changes of several repositories race and the receiver fails at random', async () => {
    for (let round = 0; round < 3; round++) {
      const receiver = fakeReceiver(() => (Math.random() < 0.3 ? 500 : 200));
      const current = worker(receiver.transport);
      await current.start();
      const events = ['a', 'b', 'c'].flatMap((repo) => [1, 2, 3, 4, 5].map((n) => pushed(`round${round}/${repo}`, String(n))));
      await Promise.all(events.map((event) => record(event)));
      // A stopped worker of an earlier round may leave a delivery it made unsaved: redelivered here (at least once), and ignored.
      const ours = () => receiver.received.filter((e) => e.data.repository.startsWith(`round${round}/`));
      await receiver.until(() => new Set(ours().map((e) => e.id)).size === events.length);
      for (const repo of ['a', 'b', 'c']) {
        const tags = ours().filter((e) => e.data.repository === `round${round}/${repo}`).map((e) => e.data.tag);
        expect(tags).toEqual(['1', '2', '3', '4', '5']);
      }
      current.stop();
    }
  });

  it('queues an entry once when it is committed while start() loads the outbox', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const transport: WebhookTransport = {
      async post() {
        calls++;
        arrived();
        await held;
        return 200;
      },
    };
    const current = worker(transport);
    await record(pushed('team/a', 'once'));
    await inFlight;
    // The entry is on disk, still pending, while its first delivery is in flight.
    await current.start();
    release();
    await expect.poll(async () => (await outbox.recent(1))[0]?.deliveries[0]?.state).toBe('delivered');
    expect(calls).toBe(1);
  });

  it('dead-letters a delivery after its last attempt, and keeps that on disk', async () => {
    const receiver = fakeReceiver(() => 500);
    await worker(receiver.transport, { ...fast, backoff: { baseMs: 1, maxMs: 2, maxAttempts: 3 } }).start();
    await record(pushed('team/a', 'x'));
    await receiver.until(() => receiver.calls.count === 3);
    const reopened = new FsOutbox(dir, { fsync: false });
    await expect.poll(async () => (await reopened.recent(10))[0]?.deliveries[0]).toMatchObject({ state: 'dead', attempts: 3, lastStatus: 500, lastError: 'HTTP 500' });
    expect(await reopened.pending()).toEqual([]);
  });

  it('delivers after a restart what the outbox still owes (at least once)', async () => {
    const down = fakeReceiver(() => 503);
    const first = worker(down.transport, { ...fast, backoff: { baseMs: 60_000, maxMs: 60_000, maxAttempts: 10 } });
    await first.start();
    await record(pushed('team/a', 'kept'));
    await down.until(() => down.calls.count === 1);
    first.stop();
    // A new process: a fresh outbox and worker over the same directory.
    outbox = new FsOutbox(dir, { fsync: false });
    recorder = new EventRecorder({ outbox, webhooks, clock, logger });
    const up = fakeReceiver(() => 200);
    await worker(up.transport).start();
    await up.until(() => up.received.length === 1);
    expect(up.received[0]!.data.tag).toBe('kept');
  });

  it('bounds each webhook\'s queue: beyond maxPending, new events are dead-lettered as "queue full"', async () => {
    const down = fakeReceiver(() => 503);
    await worker(down.transport, { ...fast, backoff: { baseMs: 60_000, maxMs: 60_000, maxAttempts: 10 }, maxPending: 2 }).start();
    for (const tag of ['1', '2', '3']) await record(pushed(`team/${tag}`, tag));
    await expect.poll(async () => (await outbox.recent(10)).find((entry) => entry.event.data.tag === '3')?.deliveries[0])
      .toMatchObject({ state: 'dead', attempts: 0, lastError: expect.stringMatching(/queue full/) });
  });

  it('settles journals a crash left: committed when the change happened, dropped when it did not', async () => {
    const happened = pushed('team/a', 'stored');
    const never = pushed('team/a', 'lost');
    await outbox.prepare([happened]);
    await outbox.prepare([never]);
    const metadata = {
      getManifest: async (_repository: string, digest: string) => (digest === happened.data.digest ? { digest } : undefined),
      resolveTag: async (_repository: string, tag: string) => (tag === 'stored' ? happened.data.digest : undefined),
    } as unknown as MetadataStore;
    expect(await recorder.recover(metadata)).toEqual({ committed: 1, discarded: 1 });
    expect((await outbox.pending()).map((entry) => entry.event.id)).toEqual([happened.id]);
    expect(await readdir(join(dir, 'meta', 'events', 'journal'))).toEqual([]);
  });

  it('settles a crash-left journal of a blob garbage collection was deleting by whether the blob is gone', async () => {
    const gone = cloudEvent(EVENT_TYPES.blobDeleted, { repository: REGISTRY_WIDE, digest: 'sha256:gone', size: 3, reason: 'gc' }, clock.now());
    const kept = cloudEvent(EVENT_TYPES.blobDeleted, { repository: REGISTRY_WIDE, digest: 'sha256:kept', size: 3, reason: 'gc' }, clock.now());
    await outbox.prepare([gone]);
    await outbox.prepare([kept]);
    const metadata = {
      getBlob: async (digest: string) => (digest === 'sha256:kept' ? { digest, size: 3 } : undefined),
      isBlobLinked: async () => false,
    } as unknown as MetadataStore;
    expect(await recorder.recover(metadata)).toEqual({ committed: 1, discarded: 1 });
    expect((await outbox.pending()).map((entry) => entry.event.id)).toEqual([gone.id]);
  });

  it('keeps no event for a change that failed or changed nothing, and writes nothing when no webhook subscribes', async () => {
    await expect(recorder.record('team/a', [pushed('team/a', 'boom')], async () => {
      throw new Error('store failed');
    })).rejects.toThrow('store failed');
    expect(await recorder.record('team/a', [pushed('team/a', 'noop')], async () => false)).toBe(false);
    await webhooks.remove('wh-000000000001');
    recorder.invalidate();
    await recorder.record('team/a', [pushed('team/a', 'nobody')], async () => true);
    expect(await outbox.recent(10)).toEqual([]);
    expect(await readdir(join(dir, 'meta', 'events', 'journal'))).toEqual([]);
  });
});

describe('the node webhook transport', () => {
  let server: Server;
  let port: number;
  beforeEach(async () => {
    // Answers /fast at once; /slow never.
    server = createServer((request, response) => {
      if (request.url === '/fast') response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('gives a receiver that never answers only its timeout', async () => {
    const transport = nodeWebhookTransport('private');
    expect(await transport.post(`http://127.0.0.1:${port}/fast`, {}, '{}', 2000)).toBe(200);
    await expect(transport.post(`http://127.0.0.1:${port}/slow`, {}, '{}', 200)).rejects.toThrow(/no answer within 200 ms/);
  });

  it('checks the address it connects to at delivery time, names included', async () => {
    const restricted = nodeWebhookTransport('public');
    await expect(restricted.post(`http://localhost:${port}/fast`, {}, '{}', 2000)).rejects.toThrow(/loopback/);
    await expect(restricted.post(`http://127.0.0.1:${port}/fast`, {}, '{}', 2000)).rejects.toThrow(/loopback/);
    await expect(nodeWebhookTransport('private').post('http://169.254.169.254/latest/meta-data', {}, '{}', 2000)).rejects.toThrow(/metadata/);
  });
});
