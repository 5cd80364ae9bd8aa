import * as z from 'zod/mini';
import { safeParse } from '../validation';
import type { RequestContext } from '../context';
import { RegistryError } from '../errors';
import { readBodyWithin } from '../http/body';
import { emptyResponse, jsonResponse } from '../http/responses';
import { repositoryPatternProblem } from '../policy/patterns';
import { cloudEvent, EVENT_TYPES, isEventGroup, type EventGroup } from '../events/cloud-events';
import type { OutboxEntry, Webhook } from '../events/ports';
import { isReservedHeader, sendEvent } from '../events/send';
import type { WebhookEvents } from '../events/services';
import { webhookUrlRefusal } from '../events/webhook-url';

const MAX_BODY = 64 * 1024;
const MAX_WEBHOOKS = 100;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

const AddRequest = z.strictObject({
  url: z.string().check(z.maxLength(2048)),
  events: z.optional(z.array(z.string()).check(z.minLength(1), z.maxLength(3))),
  repositories: z.optional(z.string().check(z.maxLength(255))),
  secret: z.optional(z.string().check(z.minLength(16, 'a secret has at least 16 characters'), z.maxLength(256))),
  headers: z.optional(z.record(z.string(), z.string().check(z.maxLength(4096)))),
});

function webhookEvents(ctx: RequestContext): WebhookEvents {
  if (!ctx.services.events) throw new RegistryError('UNSUPPORTED', 'this registry has no webhooks configured', { status: 404 });
  return ctx.services.events;
}

function invalid(message: string): RegistryError {
  return new RegistryError('WEBHOOK_INVALID', message);
}

function parseAdd(text: string): z.infer<typeof AddRequest> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid('the body is not JSON: {"url": "...", "events": ["push","delete"], "repositories": "team/**"}');
  }
  const parsed = safeParse(AddRequest, json);
  if (!parsed.success) throw invalid(parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; '));
  return parsed.data;
}

function checkHeaders(headers: Record<string, string>): void {
  if (Object.keys(headers).length > 20) throw invalid('at most 20 headers per webhook');
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw invalid(`"${name.slice(0, 64)}" is not a header name`);
    if (isReservedHeader(name)) throw invalid(`the ${name} header is set by the registry`);
    if (/[\r\n\0]/.test(value)) throw invalid(`the value of ${name} has a line break`);
  }
}

function randomSecret(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** GET /v2/_nimbus/webhooks: the webhooks (never their secrets or header values). */
export async function listWebhooks(ctx: RequestContext): Promise<Response> {
  return jsonResponse(200, { webhooks: await webhookEvents(ctx).recorder.webhooks.list() });
}

/**
 * POST /v2/_nimbus/webhooks {url, events?, repositories?, secret?, headers?}: adds a webhook
 * once its URL passes the address policy. Without a secret one is generated and answered
 * once, here; it is never shown again.
 */
export async function addWebhook(ctx: RequestContext): Promise<Response> {
  const events = webhookEvents(ctx);
  const body = parseAdd(new TextDecoder().decode(await readBodyWithin(ctx.request, MAX_BODY, 'webhook')));
  const groups = body.events ?? ['push', 'delete'];
  const unknown = groups.find((group) => !isEventGroup(group));
  if (unknown !== undefined) throw invalid(`unknown event group "${unknown.slice(0, 32)}": use push, delete, pull`);
  const repositories = body.repositories ?? '**';
  const problem = repositoryPatternProblem(repositories);
  if (problem) throw invalid(problem);
  checkHeaders(body.headers ?? {});
  const refusal = await webhookUrlRefusal(body.url, events.addressPolicy, events.resolve);
  if (refusal) throw invalid(refusal);
  const store = events.recorder.webhooks;
  if ((await store.list()).length >= MAX_WEBHOOKS) throw invalid(`a registry has at most ${MAX_WEBHOOKS} webhooks`);
  const webhook: Webhook = {
    id: `wh-${randomSecret().slice(0, 12)}`, url: body.url, events: [...new Set(groups as EventGroup[])], repositories,
    headerNames: Object.keys(body.headers ?? {}), createdAt: ctx.services.clock.now(),
  };
  const secret = body.secret ?? randomSecret();
  await store.add(webhook, { secret, headers: body.headers ?? {} });
  events.recorder.invalidate();
  ctx.services.logger.log('info', 'webhook added', { webhook: webhook.id, events: webhook.events, repositories });
  return jsonResponse(201, { webhook, ...(body.secret === undefined ? { secret } : {}) });
}

/** DELETE /v2/_nimbus/webhooks/<id>: its undelivered events are dead-lettered when their turn comes. */
export async function removeWebhook(ctx: RequestContext): Promise<Response> {
  const events = webhookEvents(ctx);
  const id = ctx.params.webhook ?? '';
  if (!(await events.recorder.webhooks.remove(id))) throw new RegistryError('WEBHOOK_UNKNOWN', `no webhook ${id}`);
  events.recorder.invalidate();
  return emptyResponse(204);
}

/** POST /v2/_nimbus/webhooks/<id>/ping: sends an io.nimbus.ping now and answers how it went (recorded in the deliveries). */
export async function pingWebhook(ctx: RequestContext): Promise<Response> {
  const events = webhookEvents(ctx);
  const id = ctx.params.webhook ?? '';
  const store = events.recorder.webhooks;
  const webhook = (await store.list()).find((each) => each.id === id);
  const secrets = webhook && await store.secrets(id);
  if (!webhook || !secrets) throw new RegistryError('WEBHOOK_UNKNOWN', `no webhook ${id}`);
  const now = ctx.services.clock.now();
  const event = cloudEvent(EVENT_TYPES.ping, { repository: webhook.repositories, digest: '', actor: ctx.principal.subject }, now);
  const [entry] = await events.recorder.outbox.append([{ event, deliveries: [{ webhook: id, state: 'pending', attempts: 0, nextAttemptAt: now }] }]);
  const attempt = await sendEvent(events.transport, webhook.url, secrets, event, `${entry!.seq}-${id}`, now, events.timeoutMs);
  const status = entry!.deliveries[0]!;
  Object.assign(status, {
    state: attempt.ok ? 'delivered' : 'dead', attempts: 1, nextAttemptAt: 0, lastAttemptAt: ctx.services.clock.now(),
    ...(attempt.status === undefined ? {} : { lastStatus: attempt.status }), ...(attempt.error ? { lastError: attempt.error } : {}),
  });
  await events.recorder.outbox.update(entry!);
  return jsonResponse(200, { webhook: id, event: event.id, ...attempt });
}

/** GET /v2/_nimbus/webhooks/deliveries?webhook=<id>&limit=<n>&state=<pending|delivered|dead>: the latest deliveries, newest first. */
export async function listDeliveries(ctx: RequestContext): Promise<Response> {
  const events = webhookEvents(ctx);
  const query = ctx.url.searchParams;
  const limitText = query.get('limit') ?? '50';
  if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) throw invalid('limit is 1 to 1000');
  const webhook = query.get('webhook');
  const state = query.get('state');
  if (state !== null && state !== 'pending' && state !== 'delivered' && state !== 'dead') throw invalid('state is pending, delivered or dead');
  const entries = await events.recorder.outbox.recent(1000);
  const rows = entries.flatMap((entry) => entry.deliveries
    .filter((delivery) => (webhook === null || delivery.webhook === webhook) && (state === null || delivery.state === state))
    .map((delivery) => deliveryRow(entry, delivery)));
  return jsonResponse(200, { deliveries: rows.slice(0, Number(limitText)) });
}

function deliveryRow(entry: OutboxEntry, delivery: OutboxEntry['deliveries'][number]) {
  const { repository, tag, digest, reason } = entry.event.data;
  return {
    seq: entry.seq, event: entry.event.id, type: entry.event.type, time: entry.event.time, repository,
    ...(tag === undefined ? {} : { tag }), digest, ...(reason === undefined ? {} : { reason }), ...delivery,
  };
}
