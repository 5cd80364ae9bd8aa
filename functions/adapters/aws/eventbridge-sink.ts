import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { CloudEvent } from '../../core/events/cloud-events';
import type { EventSink } from '../../core/events/drain';
import type { Attempt } from '../../core/events/send';

/** The id of the EventBridge destination among an entry's deliveries (`webhook deliveries` shows it). */
export const EVENTBRIDGE_SINK = 'eventbridge';
/** Events on the bus: source `nimbus`, detail-type the CloudEvent type, detail the whole CloudEvent. */
export const EVENTBRIDGE_SOURCE = 'nimbus';
/** PutEvents takes at most 10 entries a call. */
const BATCH = 10;

/**
 * Every event onto an EventBridge bus with PutEvents, so rules can route it (SQS, Step
 * Functions, CodePipeline). A call that fails, or an entry the bus refuses, is an attempt
 * that failed: the outbox retries it with backoff like a webhook delivery.
 */
export function eventBridgeSink(client: EventBridgeClient, busName: string): EventSink {
  return {
    id: EVENTBRIDGE_SINK,
    async send(events: readonly CloudEvent[]): Promise<Attempt[]> {
      const attempts: Attempt[] = [];
      for (let start = 0; start < events.length; start += BATCH) {
        const batch = events.slice(start, start + BATCH);
        const started = Date.now();
        try {
          const result = await client.send(new PutEventsCommand({
            Entries: batch.map((event) => ({
              EventBusName: busName, Source: EVENTBRIDGE_SOURCE, DetailType: event.type, Detail: JSON.stringify(event),
              Time: new Date(event.time), Resources: [],
            })),
          }));
          const durationMs = Date.now() - started;
          batch.forEach((_, index) => {
            const code = result.Entries?.[index]?.ErrorCode;
            attempts.push(code ? { ok: false, error: `EventBridge ${code}: ${result.Entries?.[index]?.ErrorMessage ?? ''}`.slice(0, 300), durationMs } : { ok: true, durationMs });
          });
        } catch (error) {
          const failure = { ok: false, error: `EventBridge PutEvents: ${(error as Error).message}`.slice(0, 300), durationMs: Date.now() - started };
          attempts.push(...batch.map(() => failure));
        }
      }
      return attempts;
    },
  };
}
