import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreConflictError } from '../../core/index';
import type { PolicyKind, PolicyStore, StoredPolicy } from '../../core/policy/ports';
import { guarded, isAwsError, toStoreError } from './aws-errors';
import { itemKeys } from './data-layout';
import { PARTITION_KEY } from './table-schema';

/**
 * Policy documents as items `POLICY` / `<kind>` (data-layout.ts): the document as JSON text
 * and a version counter that is the ETag. A write increments the counter in one UpdateItem,
 * conditioned on the version If-Match names: compare-and-swap across Lambda instances.
 */
export class DynamoPolicyStore implements PolicyStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async get(kind: PolicyKind): Promise<StoredPolicy<unknown> | undefined> {
    const result = await guarded('DynamoDB GetItem (policy)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.policy(kind), ConsistentRead: true,
    })));
    const item = result.Item;
    return item && { document: JSON.parse(item.document as string) as unknown, etag: String(item.version) };
  }

  async put(kind: PolicyKind, document: unknown, ifMatch?: string): Promise<string> {
    const condition = conditionFor(ifMatch);
    try {
      const result = await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: itemKeys.policy(kind),
        UpdateExpression: 'SET #doc = :doc ADD #version :one',
        ExpressionAttributeNames: { '#doc': 'document', '#version': 'version', ...(condition?.names ?? {}) },
        ExpressionAttributeValues: { ':doc': JSON.stringify(document), ':one': 1, ...(condition?.values ?? {}) },
        ...(condition ? { ConditionExpression: condition.expression } : {}),
        ReturnValues: 'UPDATED_NEW',
      }));
      return String(result.Attributes?.version);
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) throw new StoreConflictError(`the ${kind} document is not at ${ifMatch}`);
      throw toStoreError(error, 'DynamoDB UpdateItem (policy)');
    }
  }
}

/** If-Match as a condition: `*` any stored version, "0" none stored, else that version. */
function conditionFor(ifMatch: string | undefined): { expression: string; names?: Record<string, string>; values?: Record<string, unknown> } | undefined {
  if (ifMatch === undefined) return undefined;
  if (ifMatch === '*') return { expression: 'attribute_exists(#pk)', names: { '#pk': PARTITION_KEY } };
  if (ifMatch === '0') return { expression: 'attribute_not_exists(#pk)', names: { '#pk': PARTITION_KEY } };
  const version = Number(ifMatch);
  // An ETag that was never issued matches nothing.
  if (!Number.isSafeInteger(version) || version < 1) return { expression: 'attribute_not_exists(#pk) AND attribute_exists(#pk)', names: { '#pk': PARTITION_KEY } };
  return { expression: '#version = :expected', values: { ':expected': version } };
}
