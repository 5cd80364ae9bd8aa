import type { Clock } from '../ports';
import { cloudEvent, EVENT_TYPES } from './cloud-events';
import type { EventRecorder } from './recorder';

interface Window {
  repository: string;
  digest: string;
  tag: string | undefined;
  count: number;
  since: number;
}

/**
 * Pulls as events, cheaply: a manifest GET only counts in memory, and each window
 * (NIMBUS_WEBHOOK_PULLS seconds) becomes one io.nimbus.manifest.pulled event per manifest
 * and tag pulled, with the count. Not journalled: pulls of a window a crash cuts short are
 * not reported. At most `maxKeys` manifests per window; pulls of others are not counted.
 */
export class PullAggregator {
  private window = new Map<string, Window>();
  /** Pulls not counted this window because it was full. */
  dropped = 0;

  constructor(private readonly recorder: EventRecorder, private readonly clock: Clock, private readonly maxKeys = 10_000) {}

  note(repository: string, digest: string, tag: string | undefined): void {
    const key = `${repository}\n${digest}\n${tag ?? ''}`;
    const current = this.window.get(key);
    if (current) {
      current.count++;
      return;
    }
    if (this.window.size >= this.maxKeys) {
      this.dropped++;
      return;
    }
    this.window.set(key, { repository, digest, tag, count: 1, since: this.clock.now() });
  }

  /** Ends the window: its counts become events for the webhooks subscribed to `pull`. */
  async flush(): Promise<number> {
    const counts = [...this.window.values()];
    this.window = new Map();
    this.dropped = 0;
    if (counts.length === 0) return 0;
    const now = this.clock.now();
    const events = counts.map(({ repository, digest, tag, count, since }) => cloudEvent(EVENT_TYPES.manifestPulled, {
      repository, digest, tag, count, since: new Date(since).toISOString(),
    }, now));
    return (await this.recorder.publishEvents(events)).length;
  }
}
