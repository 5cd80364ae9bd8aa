import { stat } from 'node:fs/promises';
import { PULL_RECORD_INTERVAL_MS } from '../../core/policy/ports';
import { isNotFound, readJson } from './atomic';
import type { DataLayout } from './paths';

/** What meta/repositories/<name>/_tag-times/<tag>.json holds (paths.ts). */
export interface TagTimesRecord {
  digest: string;
  pushedAt: number;
  pulledAt?: number;
}

type Write = (path: string, data: string) => Promise<void>;
type Remove = (path: string) => Promise<boolean>;

/** Most pull times remembered in memory, so a pull within the day costs no file read. */
const MEMO_LIMIT = 100_000;

/**
 * Push and pull times of tags, for retention. The push time is written with the tag (under the
 * repository lock); the pull time at most once per PULL_RECORD_INTERVAL_MS per tag, remembered
 * in memory in between, so pulls within the day cost nothing.
 */
export class TagTimes {
  private readonly recordedPulls = new Map<string, number>();

  constructor(private readonly layout: DataLayout, private readonly write: Write, private readonly remove: Remove) {}

  pushed(repository: string, tag: string, digest: string, at: number): Promise<void> {
    const record: TagTimesRecord = { digest, pushedAt: at };
    this.recordedPulls.delete(`${repository}\n${tag}`);
    return this.write(this.layout.tagTimes(repository, tag), JSON.stringify(record));
  }

  async forget(repository: string, tag: string): Promise<void> {
    this.recordedPulls.delete(`${repository}\n${tag}`);
    await this.remove(this.layout.tagTimes(repository, tag));
  }

  /** The tag's times; the tag file's mtime stands in for a missing or stale record's push time. */
  async read(repository: string, tag: string, digest: string): Promise<{ pushedAt: number; pulledAt?: number }> {
    const record = await readJson<TagTimesRecord>(this.layout.tagTimes(repository, tag));
    if (record && record.digest === digest) return { pushedAt: record.pushedAt, ...(record.pulledAt === undefined ? {} : { pulledAt: record.pulledAt }) };
    try {
      return { pushedAt: (await stat(this.layout.tag(repository, tag))).mtimeMs };
    } catch (error) {
      if (isNotFound(error)) return { pushedAt: 0 };
      throw error;
    }
  }

  /** Whether a pull at `now` should be written (the last recorded one is a day old or more). */
  pullDue(repository: string, tag: string, now: number): boolean {
    const last = this.recordedPulls.get(`${repository}\n${tag}`);
    return last === undefined || now - last >= PULL_RECORD_INTERVAL_MS;
  }

  /** Records a pull of `tag` (still pointing at `digest`: the caller holds the repository lock). */
  async pulled(repository: string, tag: string, digest: string, now: number): Promise<void> {
    const key = `${repository}\n${tag}`;
    const times = await this.read(repository, tag, digest);
    if (times.pulledAt === undefined || now - times.pulledAt >= PULL_RECORD_INTERVAL_MS) {
      const record: TagTimesRecord = { digest, pushedAt: times.pushedAt, pulledAt: now };
      await this.write(this.layout.tagTimes(repository, tag), JSON.stringify(record));
      this.remember(key, now);
    } else {
      this.remember(key, times.pulledAt);
    }
  }

  private remember(key: string, at: number): void {
    if (this.recordedPulls.size >= MEMO_LIMIT) this.recordedPulls.clear();
    this.recordedPulls.set(key, at);
  }
}
