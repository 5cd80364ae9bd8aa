import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Leases } from '../../core/ports';
import { isAwsError, toStoreError } from './aws-errors';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

/**
 * Leases as table items (keys from data-layout.ts): taken with a conditional put (absent, or
 * its `until` passed), released by a delete conditioned on our own token, so a holder whose
 * lease ran out and was taken over never ends its successor's. Expired items are removed by
 * TTL. One holder per key per process: callers serialise their own use of a key.
 */
export class DynamoLeases implements Leases {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly keyOf: (key: string) => Record<string, string>,
    private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(key: string, ttlMs: number): Promise<boolean> {
    const token = randomUUID();
    const now = this.now();
    try {
      await this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { ...this.keyOf(key), token, until: now + ttlMs, [TTL_ATTRIBUTE]: Math.ceil((now + ttlMs) / 1000) + 3600 },
        ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#until': 'until' }, ExpressionAttributeValues: { ':now': now },
      }));
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw toStoreError(error, `DynamoDB PutItem (${this.what})`);
    }
    this.tokens.set(key, token);
    return true;
  }

  async release(key: string): Promise<void> {
    const token = this.tokens.get(key);
    if (token === undefined) return;
    this.tokens.delete(key);
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.table, Key: this.keyOf(key),
        ConditionExpression: '#token = :token', ExpressionAttributeNames: { '#token': 'token' }, ExpressionAttributeValues: { ':token': token },
      }));
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw toStoreError(error, `DynamoDB DeleteItem (${this.what})`);
    }
  }
}
