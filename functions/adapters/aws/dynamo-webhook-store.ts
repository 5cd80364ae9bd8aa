import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Webhook, WebhookSecrets, WebhookStore } from '../../core/events/ports';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { queryAll } from './dynamo-helpers';

/**
 * Webhooks in the table: WEBHOOKS/<id> holds what `webhook list` shows; the secret and header
 * values are in their own item, WEBHOOK#<id>/SECRET, which only a delivery reads (as the
 * identity store keeps credentials apart from what it lists). The secret item is written
 * first, so a listed webhook always has one.
 */
export class DynamoWebhookStore implements WebhookStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async list(): Promise<Webhook[]> {
    const items = await queryAll(this.doc, this.table, itemKeys.webhooksPartition, undefined, 'DynamoDB Query (webhooks)');
    return items.map((item) => JSON.parse(item.webhook as string) as Webhook)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async add(webhook: Webhook, secrets: WebhookSecrets): Promise<void> {
    await guarded('DynamoDB PutItem (webhook secret)', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...itemKeys.webhookSecret(webhook.id), secrets: JSON.stringify(secrets) },
    })));
    await guarded('DynamoDB PutItem (webhook)', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...itemKeys.webhook(webhook.id), webhook: JSON.stringify(webhook) },
    })));
  }

  async remove(id: string): Promise<boolean> {
    const result = await guarded('DynamoDB DeleteItem (webhook)', () => this.doc.send(new DeleteCommand({
      TableName: this.table, Key: itemKeys.webhook(id), ReturnValues: 'ALL_OLD',
    })));
    await guarded('DynamoDB DeleteItem (webhook secret)', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: itemKeys.webhookSecret(id) })));
    return result.Attributes !== undefined;
  }

  async secrets(id: string): Promise<WebhookSecrets | undefined> {
    const result = await guarded('DynamoDB GetItem (webhook secret)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.webhookSecret(id), ConsistentRead: true,
    })));
    return result.Item ? JSON.parse(result.Item.secrets as string) as WebhookSecrets : undefined;
  }
}
