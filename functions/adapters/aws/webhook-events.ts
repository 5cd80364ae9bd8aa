import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { nodeWebhookTransport, resolveHost } from '../node/webhook-transport';
import { isAddressPolicy, type AddressPolicy } from '../../core/events/addresses';
import type { BackoffPolicy } from '../../core/events/backoff';
import { EventRecorder } from '../../core/events/recorder';
import type { WebhookEvents } from '../../core/events/services';
import type { Logger } from '../../core/index';
import { itemKeys } from './data-layout';
import { DynamoLeases } from './dynamo-leases';
import { DynamoOutbox } from './dynamo-outbox';
import { DynamoWebhookStore } from './dynamo-webhook-store';
import { LAMBDA_ENV } from './env';
import { EVENTBRIDGE_SINK } from './eventbridge-sink';
import { SecretsManagerVault, type SecretVault } from './secret-vault';

/** How long a registry function trusts its list of webhooks. */
export const WEBHOOK_CACHE_MS = 10_000;
/**
 * A change's order lease outlives any change (API Gateway ends an invocation at 30 s); a change
 * waits up to 10 s for another container's before it goes ahead unordered (order-lease.ts).
 */
const ORDER_LEASE_TTL_MS = 30_000;
const ORDER_LEASE_WAIT_MS = 10_000;

export interface EventSettings {
  /** The EventBridge bus (name or ARN) the events function puts every event on. @default "default" */
  readonly bus: string;
  readonly addresses: AddressPolicy;
  readonly timeoutMs: number;
  readonly backoff: BackoffPolicy;
}

/** The webhook and EventBridge settings both functions read (names: LAMBDA_ENV). */
export function readEventSettings(env: NodeJS.ProcessEnv): EventSettings {
  const addresses = env[LAMBDA_ENV.webhookAddresses] || 'private';
  if (!isAddressPolicy(addresses)) throw new Error(`${LAMBDA_ENV.webhookAddresses} must be private, public or any, not "${addresses}"`);
  return {
    bus: env[LAMBDA_ENV.eventBus] || 'default',
    addresses,
    timeoutMs: positive(env, LAMBDA_ENV.webhookTimeoutSeconds, 10) * 1000,
    backoff: { baseMs: 1000, maxMs: 3_600_000, maxAttempts: positive(env, LAMBDA_ENV.webhookMaxAttempts, 24) },
  };
}

/**
 * Where webhook secrets live: Secrets Manager, under the stack's prefix (NIMBUS_SECRET_PREFIX,
 * `nimbus/<stack>`; `nimbus/dev` under dev:aws), as `<prefix>/webhook/<id>`.
 */
export function webhookSecretVault(client: SecretsManagerClient, env: NodeJS.ProcessEnv): SecretVault {
  const prefix = env[LAMBDA_ENV.secretPrefix]?.trim().replace(/\/+$/, '');
  if (!prefix) throw new Error(`${LAMBDA_ENV.secretPrefix} must name the prefix of the stack's secrets (nimbus/<stack>)`);
  return new SecretsManagerVault(client, prefix);
}

/**
 * For functions that record events but never send them (the GC function): the recorder reads
 * only the webhook list, never a secret, so this vault refuses every call, and the function's
 * role has no Secrets Manager grant.
 */
export const NO_WEBHOOK_SECRETS: SecretVault = {
  get: () => Promise.reject(new Error('this function records events only; it reads no webhook secret')),
  put: () => Promise.reject(new Error('this function records events only; it writes no webhook secret')),
  delete: () => Promise.reject(new Error('this function records events only; it deletes no webhook secret')),
};

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}

/**
 * Webhooks on the table (the registry function, and `nimbus --table`): every change records
 * its events in the DynamoDB outbox, each with an EventBridge delivery besides the webhooks'
 * (so every event reaches the bus, whether a webhook wants it or not); the events function
 * delivers them. Pulled events are not counted on AWS.
 */
export function awsWebhookEvents(doc: DynamoDBDocumentClient, table: string, vault: SecretVault, settings: EventSettings, logger: Logger): WebhookEvents {
  const recorder = new EventRecorder({
    outbox: new DynamoOutbox(doc, table), webhooks: new DynamoWebhookStore(doc, table, vault), clock: { now: () => Date.now() }, logger, sinks: [EVENTBRIDGE_SINK],
    // Webhooks added elsewhere (another function, `nimbus --table`) are seen within this long.
    webhookCacheMs: WEBHOOK_CACHE_MS,
    // Containers change one repository concurrently: the lease gives their entries the changes' order.
    orderLeases: { leases: new DynamoLeases(doc, table, itemKeys.eventOrderLease, 'event order lease'), ttlMs: ORDER_LEASE_TTL_MS, waitMs: ORDER_LEASE_WAIT_MS },
  });
  return {
    recorder, transport: nodeWebhookTransport(settings.addresses), addressPolicy: settings.addresses, resolve: resolveHost, timeoutMs: settings.timeoutMs,
  };
}
