import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from '../../core/events/cloud-events';
import type { EventOutbox, OutboxDraft, OutboxEntry } from '../../core/events/ports';
import { readJson, removeFile, writeFileAtomic } from './atomic';
import { listDir } from './files';

export interface FsOutboxOptions {
  /** NIMBUS_FSYNC: journal and entries are on disk before the change goes on / the request is answered. @default true */
  readonly fsync?: boolean;
  /** Finished entries (delivered or dead-lettered) kept for `webhook deliveries`. @default 1000 */
  readonly keepFinished?: number;
}

const SEQ_DIGITS = 16;

/**
 * The outbox on disk (meta/events/):
 *   journal/<uuid>.json   a change's events, written (and flushed) before the change is made
 *   outbox/<seq>.json     an event and its delivery states, per webhook; replaced atomically
 * A journal becomes entries once its change is made (commit writes each entry, then drops the
 * journal); one a crash left behind is decided at startup (EventRecorder.recover). Entries
 * whose deliveries all finished are pruned beyond the latest `keepFinished`.
 */
export class FsOutbox implements EventOutbox {
  private readonly journalDir: string;
  private readonly entryDir: string;
  private readonly tmp: string;
  private readonly fsync: boolean;
  private readonly keepFinished: number;
  private lastSeq = 0;
  /** Event ids committed, so a journal recovered after a crash mid-commit adds no duplicates. */
  private readonly committed = new Set<string>();
  private readonly finished: number[] = [];
  private loaded: Promise<OutboxEntry[]> | undefined;

  constructor(root: string, options: FsOutboxOptions = {}) {
    this.journalDir = join(root, 'meta', 'events', 'journal');
    this.entryDir = join(root, 'meta', 'events', 'outbox');
    this.tmp = join(root, 'tmp');
    this.fsync = options.fsync ?? true;
    this.keepFinished = options.keepFinished ?? 1000;
  }

  /** Reads the entries once: the next seq, committed ids and finished entries. */
  private load(): Promise<OutboxEntry[]> {
    this.loaded ??= (async () => {
      await Promise.all([mkdir(this.journalDir, { recursive: true }), mkdir(this.entryDir, { recursive: true }), mkdir(this.tmp, { recursive: true })]);
      const entries = await this.readEntries(await listDir(this.entryDir));
      for (const entry of entries) {
        this.lastSeq = Math.max(this.lastSeq, entry.seq);
        this.committed.add(entry.event.id);
        if (isFinished(entry)) this.finished.push(entry.seq);
      }
      return entries;
    })();
    return this.loaded;
  }

  private async readEntries(files: string[]): Promise<OutboxEntry[]> {
    const entries = await Promise.all(files.filter((file) => file.endsWith('.json')).map((file) => readJson<OutboxEntry>(join(this.entryDir, file))));
    return entries.filter((entry): entry is OutboxEntry => entry !== undefined).sort((a, b) => a.seq - b.seq);
  }

  private entryPath(seq: number): string {
    return join(this.entryDir, `${String(seq).padStart(SEQ_DIGITS, '0')}.json`);
  }

  async prepare(events: readonly CloudEvent[]): Promise<string> {
    await this.load();
    const id = randomUUID();
    await writeFileAtomic(this.tmp, join(this.journalDir, `${id}.json`), JSON.stringify({ events }), { fsync: this.fsync });
    return id;
  }

  async commit(journal: string, drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]> {
    const entries = await this.append(drafts.filter((draft) => !this.committed.has(draft.event.id)));
    await this.discard(journal);
    return entries;
  }

  async discard(journal: string): Promise<void> {
    await removeFile(join(this.journalDir, `${journal}.json`), { fsync: this.fsync });
  }

  async journals(): Promise<Array<{ id: string; events: CloudEvent[] }>> {
    await this.load();
    const files = (await listDir(this.journalDir)).filter((file) => file.endsWith('.json'));
    const journals = await Promise.all(files.map(async (file) => ({
      id: file.slice(0, -'.json'.length), events: (await readJson<{ events: CloudEvent[] }>(join(this.journalDir, file)))?.events ?? [],
    })));
    // Oldest first is not knowable from uuids; each journal is the last change of its repository, so any order keeps per-repository order.
    return journals;
  }

  async append(drafts: readonly OutboxDraft[]): Promise<OutboxEntry[]> {
    await this.load();
    // Seqs are taken synchronously, so concurrent appends never share one.
    const entries = drafts.map((draft) => ({ ...draft, seq: ++this.lastSeq }));
    await Promise.all(entries.map((entry) => this.write(entry)));
    for (const entry of entries) this.committed.add(entry.event.id);
    return entries;
  }

  async pending(): Promise<OutboxEntry[]> {
    const entries = await this.readEntries(await (this.load().then(() => listDir(this.entryDir))));
    return entries.filter((entry) => !isFinished(entry));
  }

  async update(entry: OutboxEntry): Promise<void> {
    await this.write(entry);
    if (!isFinished(entry)) return;
    this.finished.push(entry.seq);
    this.finished.sort((a, b) => a - b);
    while (this.finished.length > this.keepFinished) {
      const oldest = this.finished.shift()!;
      if (oldest !== this.lastSeq) await removeFile(this.entryPath(oldest), { fsync: false });
    }
  }

  async recent(limit: number): Promise<OutboxEntry[]> {
    await this.load();
    const files = (await listDir(this.entryDir)).filter((file) => file.endsWith('.json')).sort().reverse().slice(0, limit);
    return (await this.readEntries(files)).reverse();
  }

  private write(entry: OutboxEntry): Promise<void> {
    return writeFileAtomic(this.tmp, this.entryPath(entry.seq), JSON.stringify(entry), { fsync: this.fsync });
  }
}

function isFinished(entry: OutboxEntry): boolean {
  return entry.deliveries.every((delivery) => delivery.state !== 'pending');
}
