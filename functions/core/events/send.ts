import type { CloudEvent } from './cloud-events';
import type { WebhookSecrets, WebhookTransport } from './ports';
import { SIGNATURE_HEADER, signatureHeader } from './signing';

/** Headers a webhook's own --header cannot replace. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'connection', 'user-agent',
  SIGNATURE_HEADER.toLowerCase(), 'nimbus-event-id', 'nimbus-delivery']);

export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}

export interface Attempt {
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  ok: boolean;
  error?: string;
  durationMs: number;
  /** Retrying cannot help (the webhook was removed): dead-letter at once. */
  final?: boolean;
}

/** One signed POST of `event` in CloudEvents structured mode; never throws. */
export async function sendEvent(
  transport: WebhookTransport, url: string, secrets: WebhookSecrets, event: CloudEvent, delivery: string, nowMs: number, timeoutMs: number,
): Promise<Attempt> {
  const body = JSON.stringify(event);
  const headers: Record<string, string> = {
    ...secrets.headers,
    'Content-Type': 'application/cloudevents+json; charset=utf-8',
    'User-Agent': 'Nimbus-Webhook/1',
    'Nimbus-Event-Id': event.id,
    'Nimbus-Delivery': delivery,
    [SIGNATURE_HEADER]: await signatureHeader(secrets.secret, body, nowMs),
  };
  const started = Date.now();
  try {
    const status = await transport.post(url, headers, body, timeoutMs);
    const ok = status >= 200 && status < 300;
    return { status, ok, durationMs: Date.now() - started, ...(ok ? {} : { error: `HTTP ${status}` }) };
  } catch (error) {
    return { ok: false, error: (error as Error).message.slice(0, 300), durationMs: Date.now() - started };
  }
}
