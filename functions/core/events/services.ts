import type { AddressPolicy } from './addresses';
import type { CloudEvent } from './cloud-events';
import type { EventRecorder } from './recorder';
import type { HostResolver, WebhookTransport } from './ports';
import type { PullAggregator } from './pulls';

/** Webhooks as a registry service (RegistryDeps.events). */
export interface WebhookEvents {
  readonly recorder: EventRecorder;
  /** Sends pings (the delivery worker has its own reference). */
  readonly transport: WebhookTransport;
  /** Which addresses a webhook URL may resolve to (checked when it is added). */
  readonly addressPolicy: AddressPolicy;
  readonly resolve: HostResolver;
  /** How long a ping waits for the receiver. */
  readonly timeoutMs: number;
  /** Pulled events (off unless set): manifest GETs counted per window. */
  readonly pulls?: PullAggregator;
}

/** Runs a change with its events recorded when the registry has webhooks, else just runs it. */
export function recordChange<T>(events: WebhookEvents | undefined, repository: string, made: readonly CloudEvent[], change: () => Promise<T>): Promise<T> {
  return events ? events.recorder.record(repository, made, change) : change();
}
