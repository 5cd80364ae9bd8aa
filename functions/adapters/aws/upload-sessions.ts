import { DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreConflictError, type UploadSession } from '../../core/index';
import { guarded } from './aws-errors';
import { itemKeys } from './data-layout';
import { decodeParts, encodeParts } from './part-codec';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

/**
 * Upload sessions, one item each (data-layout.ts), written whole by compare-and-swap on
 * `version`. The part list is packed by part-codec.ts so 10,000 S3 parts fit in an item.
 * Expired sessions are removed by DynamoDB TTL on `expiresAt`; until then the core
 * ignores them.
 */
export class UploadSessionTable {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async create(session: UploadSession): Promise<void> {
    await guarded('DynamoDB PutItem (upload session)', () => this.doc.send(new PutCommand({
      TableName: this.table,
      Item: toItem(session),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PARTITION_KEY },
    })));
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const result = await guarded('DynamoDB GetItem (upload session)', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: itemKeys.upload(id), ConsistentRead: true,
    })));
    return result.Item ? fromItem(result.Item) : undefined;
  }

  async update(session: UploadSession, expectedVersion: number): Promise<void> {
    try {
      await guarded('DynamoDB PutItem (upload session)', () => this.doc.send(new PutCommand({
        TableName: this.table,
        Item: toItem(session),
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expectedVersion },
      })));
    } catch (error) {
      if (error instanceof StoreConflictError) throw new StoreConflictError(`upload ${session.id} changed concurrently or is gone`);
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    await guarded('DynamoDB DeleteItem (upload session)', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: itemKeys.upload(id) })));
  }
}

function toItem(session: UploadSession): Record<string, unknown> {
  return {
    ...itemKeys.upload(session.id),
    id: session.id,
    repository: session.repository,
    handle: session.handle,
    offset: session.offset,
    parts: encodeParts(session.parts),
    tail: session.tail ? { name: session.tail.name, size: session.tail.size } : undefined,
    hashState: session.hashState,
    hashAlgorithm: session.hashAlgorithm,
    version: session.version,
    lease: session.lease ? { owner: session.lease.owner, until: session.lease.until } : undefined,
    partFloor: session.partFloor,
    commit: session.commit ? { digest: session.commit.digest } : undefined,
    direct: session.direct ? { ...session.direct } : undefined,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    [TTL_ATTRIBUTE]: session.expiresAt,
  };
}

function fromItem(item: Record<string, unknown>): UploadSession {
  const session: UploadSession = {
    id: item.id as string,
    repository: item.repository as string,
    handle: item.handle as string,
    offset: item.offset as number,
    parts: decodeParts((item.parts as Uint8Array | undefined) ?? new Uint8Array(0)),
    hashState: item.hashState as string,
    hashAlgorithm: item.hashAlgorithm as UploadSession['hashAlgorithm'],
    version: item.version as number,
    createdAt: item.createdAt as number,
    updatedAt: item.updatedAt as number,
    expiresAt: item[TTL_ATTRIBUTE] as number,
  };
  const tail = item.tail as UploadSession['tail'];
  if (tail) session.tail = { name: tail.name, size: tail.size };
  const lease = item.lease as UploadSession['lease'];
  if (lease) session.lease = { owner: lease.owner, until: lease.until };
  if (typeof item.partFloor === 'number') session.partFloor = item.partFloor;
  const commit = item.commit as UploadSession['commit'];
  if (commit) session.commit = { digest: commit.digest };
  const direct = item.direct as UploadSession['direct'];
  if (direct) session.direct = { ...direct };
  return session;
}
