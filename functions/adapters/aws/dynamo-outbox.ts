import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CloudEvent } from '../../core/events/cloud-events';
import type { EventOutbox, OutboxDraft, OutboxEntry } from '../../core/events/ports';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { queryAll } from './dynamo-helpers';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema';
import { transact, transactConditions, type TransactItem } from './transactions';

export interface DynamoOutboxOptions {
  /** Epoch ms now (tests). */
  readonly now?: () => number;
  /**
   * A journal younger than this may belong to a request still running (another Lambda), so
   * recovery leaves it alone. Longer than any registry invocation. @default 15 min
   */
  readonly journalGraceMs?: number;
  /** Finished entries (delivered or dead) expire (table TTL) after this long. @default 14 days */
  readonly keepFinishedSeconds?: number;
}

/**
 * The outbox in the table (keys in data-layout.ts), the same protocol as the fs outbox: a
 * journal item before the change, entries after it. seq comes from one counter item (ADD 1,
 * atomic), so a change made after another one committed gets a larger seq, whichever Lambda
 * made it: per repository, entries are in the order of the changes. An entry and an
 * `ID#<event id>` marker are written in one transaction conditioned on the marker being
 * absent, so a journal committed both by its request and by recovery yields one entry.
 */
export class DynamoOutbox implements EventOutbox {
  private readonly now: () => number;
  private readonly grace: number;
  private readonly keepFinished: number;

  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, options: DynamoOutboxOptions = {}) {
    this.now = options.now ?? Date.now;
    this.grace = options.journalGraceMs ?? 15 * 60_000;
    this.keepFinished = options.keepFinishedSeconds ?? 14 * 86_400;
  }

  async prepare(events: readonly CloudEvent[]): Promise<string> {
    const id = randomUUID();
    await guarded('DynamoDB PutItem (event journal)', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...itemKeys.eventJournal(id), events: JSON.stringify(events), at: this.now() },
    })));
    return id;
  }

  async commit(journal: string, drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]> {
    const entries = await this.append(drafts);
    await this.discard(journal);
    return entries;
  }

  async discard(journal: string): Promise<void> {
    await guarded('DynamoDB DeleteItem (event journal)', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: itemKeys.eventJournal(journal) })));
  }

  /** Journals older than the grace period (younger ones may still be committed by their request). */
  async journals(): Promise<Array<{ id: string; events: CloudEvent[] }>> {
    const items = await queryAll(this.doc, this.table, itemKeys.eventsPartition, itemKeys.eventJournalPrefix, 'DynamoDB Query (event journals)');
    const cutoff = this.now() - this.grace;
    return items.filter((item) => (item.at as number) <= cutoff).sort((a, b) => (a.at as number) - (b.at as number)).map((item) => ({
      id: (item[SORT_KEY] as string).slice(itemKeys.eventJournalPrefix.length), events: JSON.parse(item.events as string) as CloudEvent[],
    }));
  }

  /** One entry after another, each with its own seq, so their order is the drafts' order. */
  async append(drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    for (const draft of drafts) {
      const entry = { ...draft, seq: await this.nextSeq() };
      const failed = await transactConditions(this.doc, 'event entry', [
        { Put: { TableName: this.table, Item: { ...itemKeys.eventCommitted(draft.event.id), seq: entry.seq }, ConditionExpression: `attribute_not_exists(${PARTITION_KEY})` } },
        ...this.writes(entry),
      ]);
      if (failed.length === 0) entries.push(entry);
    }
    return entries;
  }

  private async nextSeq(): Promise<number> {
    const result = await guarded('DynamoDB UpdateItem (event sequence)', () => this.doc.send(new UpdateCommand({
      TableName: this.table, Key: itemKeys.eventSequence, UpdateExpression: 'ADD seq :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'UPDATED_NEW',
    })));
    return result.Attributes?.seq as number;
  }

  /** The open copies only: what is owed, not the history. */
  async pending(): Promise<OutboxEntry[]> {
    const items = await queryAll(this.doc, this.table, itemKeys.eventsPartition, itemKeys.eventOpenPrefix, 'DynamoDB Query (open event entries)');
    return items.map(entryOf).sort((a, b) => a.seq - b.seq);
  }

  async update(entry: OutboxEntry): Promise<void> {
    await transact(this.doc, 'event entry', this.writes(entry));
  }

  async recent(limit: number): Promise<OutboxEntry[]> {
    return (await this.query({ ScanIndexForward: false, Limit: limit }, limit)).map(entryOf);
  }

  /** The entry, and its open copy while a delivery is pending (deleted once none is). */
  private writes(entry: OutboxEntry): TransactItem[] {
    const item = this.item(entry);
    const open = item.pending
      ? { Put: { TableName: this.table, Item: { ...item, ...itemKeys.eventOpen(entry.seq) } } }
      : { Delete: { TableName: this.table, Key: itemKeys.eventOpen(entry.seq) } };
    return [{ Put: { TableName: this.table, Item: item } }, open];
  }

  private item(entry: OutboxEntry): Record<string, unknown> {
    const open = entry.deliveries.some((delivery) => delivery.state === 'pending');
    return {
      ...itemKeys.eventEntry(entry.seq), seq: entry.seq, repository: entry.event.data.repository, type: entry.event.type,
      entry: JSON.stringify(entry), pending: open,
      ...(open ? {} : { [TTL_ATTRIBUTE]: Math.floor(this.now() / 1000) + this.keepFinished }),
    };
  }

  private async query(extra: { ScanIndexForward?: boolean; Limit?: number }, limit = Infinity) {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await guarded('DynamoDB Query (event entries)', () => this.doc.send(new QueryCommand({
        TableName: this.table, ConsistentRead: true, ...extra,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ExpressionAttributeValues: { ':pk': itemKeys.eventsPartition, ':prefix': itemKeys.eventEntryPrefix },
        ...(start ? { ExclusiveStartKey: start } : {}),
      })));
      items.push(...(result.Items ?? []));
      start = result.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items.slice(0, limit);
  }
}

function entryOf(item: Record<string, unknown>): OutboxEntry {
  return JSON.parse(item.entry as string) as OutboxEntry;
}
