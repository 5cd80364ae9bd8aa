import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Webhook, WebhookSecrets, WebhookStore } from '../../core/events/ports';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { queryAll } from './dynamo-helpers';
import type { SecretVault } from './secret-vault';

/** The vault name of a webhook's secret and header values: `<prefix>/webhook/<id>` in Secrets Manager. */
export const webhookSecretName = (id: string) => `webhook/${id}`;

export interface DynamoWebhookStoreOptions {
  /**
   * How long a secret read is reused (the events function: each pass signs every delivery,
   * and a GetSecretValue per delivery would cost calls and latency for a value that never
   * changes, since a webhook's secret is fixed for its id). 0: read each time. @default 0
   */
  readonly secretCacheMs?: number;
  /** Epoch ms now (tests). */
  readonly now?: () => number;
}

/**
 * Webhooks in the table: WEBHOOKS/<id> holds what `webhook list` shows; the secret and header
 * values are in Secrets Manager (`webhook/<id>` under the stack's prefix), which only a
 * delivery or a ping reads. The secret is written first, so a listed webhook always has one,
 * and deleted after the webhook item, so it outlives its listing. Stacks deployed before the
 * vault kept them in a WEBHOOK#<id>/SECRET item: read when the vault has none, deleted on remove.
 */
export class DynamoWebhookStore implements WebhookStore {
  private readonly cache = new Map<string, { secrets: WebhookSecrets; until: number }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly vault: SecretVault,
    options: DynamoWebhookStoreOptions = {},
  ) {
    this.cacheMs = options.secretCacheMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  async list(): Promise<Webhook[]> {
    const items = await queryAll(this.doc, this.table, itemKeys.webhooksPartition, undefined, 'DynamoDB Query (webhooks)');
    return items.map((item) => JSON.parse(item.webhook as string) as Webhook)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async add(webhook: Webhook, secrets: WebhookSecrets): Promise<void> {
    await this.vault.put(webhookSecretName(webhook.id), JSON.stringify(secrets));
    await guarded('DynamoDB PutItem (webhook)', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...itemKeys.webhook(webhook.id), webhook: JSON.stringify(webhook) },
    })));
  }

  async remove(id: string): Promise<boolean> {
    const result = await guarded('DynamoDB DeleteItem (webhook)', () => this.doc.send(new DeleteCommand({
      TableName: this.table, Key: itemKeys.webhook(id), ReturnValues: 'ALL_OLD',
    })));
    this.cache.delete(id);
    await this.vault.delete(webhookSecretName(id));
    await guarded('DynamoDB DeleteItem (legacy webhook secret)', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: itemKeys.webhookSecret(id) })));
    return result.Attributes !== undefined;
  }

  async secrets(id: string): Promise<WebhookSecrets | undefined> {
    const cached = this.cache.get(id);
    if (cached && cached.until > this.now()) return cached.secrets;
    const secrets = await this.vaultSecrets(id) ?? await this.legacySecrets(id);
    if (secrets && this.cacheMs > 0) this.cache.set(id, { secrets, until: this.now() + this.cacheMs });
    else this.cache.delete(id);
    return secrets;
  }

  private async vaultSecrets(id: string): Promise<WebhookSecrets | undefined> {
    const value = await this.vault.get(webhookSecretName(id));
    return value === undefined ? undefined : JSON.parse(value) as WebhookSecrets;
  }

  /** Where stacks deployed before the vault kept them. */
  private async legacySecrets(id: string): Promise<WebhookSecrets | undefined> {
    const result = await guarded('DynamoDB GetItem (legacy webhook secret)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.webhookSecret(id), ConsistentRead: true,
    })));
    return result.Item ? JSON.parse(result.Item.secrets as string) as WebhookSecrets : undefined;
  }
}
