import {
  DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Grant } from '../../auth/grants';
import {
  isPrincipalName, NameError, PrincipalExistsError, type FederationRecord, type IdentityStore, type PrincipalRecord,
} from '../../auth/identity-store';
import type { AttemptCounter } from '../../auth/login-throttle';
import { StoreConflictError, StoreNotFoundError } from '../../core/errors';
import { guarded } from './aws-errors';
import { queryAll } from './dynamo-helpers';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema';

/**
 * Users, robots, grants, trusted CI issuers and failed-login counters in the registry's
 * single table (table-schema.ts). Each kind lives in one small partition, so listing is one
 * Query and every lookup a GetItem, all strongly consistent:
 *
 *   principal            AUTH#PRINCIPALS           <name>        kind, secretHash, generation, createdAt
 *   grants               AUTH#GRANTS               <principal>   grants: [{ pattern, actions }]
 *   trusted issuer       AUTH#FEDERATIONS          <issuer>      audience, jwksUri?, rules, generation
 *   failed-login count   AUTH#ATTEMPTS#<key>       <window>      count, expiresAt (TTL)
 *     <key>: pair:<name>|<address>, address:<address> (IPv6: its /64), principal:<name>
 */
const PRINCIPALS = 'AUTH#PRINCIPALS';
const GRANTS = 'AUTH#GRANTS';
const FEDERATIONS = 'AUTH#FEDERATIONS';
const attemptsPartition = (key: string) => `AUTH#ATTEMPTS#${key}`;

const key = (pk: string, sk: string) => ({ [PARTITION_KEY]: pk, [SORT_KEY]: sk });

/** DynamoDB refuses empty key values and sort keys over 1,024 bytes (a ValidationException). */
const isKeyValue = (value: string) => value.length > 0 && Buffer.byteLength(value) <= 1024;

/** The same names as the file store: what one store holds, the other can. */
function writableName(name: string): void {
  if (!isPrincipalName(name)) throw new NameError(`"${name.slice(0, 80)}" cannot name a user or robot`);
}

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { [PARTITION_KEY]: _pk, [SORT_KEY]: _sk, ...rest } = item;
  return rest as T;
}

export class DynamoIdentityStore implements IdentityStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async getPrincipal(name: string): Promise<PrincipalRecord | undefined> {
    if (!isPrincipalName(name)) return undefined;
    return strip<PrincipalRecord>(await this.get(PRINCIPALS, name, 'read principal'));
  }

  async createPrincipal(record: PrincipalRecord): Promise<void> {
    writableName(record.name);
    try {
      await guarded('create principal', () => this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { ...key(PRINCIPALS, record.name), ...record },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
      })));
    } catch (error) {
      if (error instanceof StoreConflictError) throw new PrincipalExistsError(record.name);
      throw error;
    }
  }

  async updatePrincipal(record: PrincipalRecord): Promise<void> {
    writableName(record.name);
    try {
      await guarded('update principal', () => this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { ...key(PRINCIPALS, record.name), ...record },
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY },
      })));
    } catch (error) {
      if (error instanceof StoreConflictError) throw new StoreNotFoundError(`no user or robot named "${record.name}"`);
      throw error;
    }
  }

  async deletePrincipal(name: string): Promise<boolean> {
    if (!isPrincipalName(name)) return false;
    const existed = (await this.getPrincipal(name)) !== undefined;
    await guarded('delete principal', () => this.doc.send(new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: this.table, Key: key(PRINCIPALS, name) } },
        { Delete: { TableName: this.table, Key: key(GRANTS, name) } },
      ],
    })));
    return existed;
  }

  async listPrincipals(): Promise<PrincipalRecord[]> {
    const items = await queryAll(this.doc, this.table, PRINCIPALS, undefined, 'list principals');
    return items.map((item) => strip<PrincipalRecord>(item)!);
  }

  async grantsOf(principal: string): Promise<Grant[]> {
    if (!isPrincipalName(principal)) return [];
    return ((await this.get(GRANTS, principal, 'read grants'))?.grants as Grant[] | undefined) ?? [];
  }

  async setGrants(principal: string, grants: Grant[]): Promise<void> {
    writableName(principal);
    if (grants.length === 0) {
      await guarded('delete grants', () => this.doc.send(new DeleteCommand({ TableName: this.table, Key: key(GRANTS, principal) })));
      return;
    }
    await guarded('write grants', () => this.doc.send(new PutCommand({ TableName: this.table, Item: { ...key(GRANTS, principal), grants } })));
  }

  async listGrants(): Promise<Map<string, Grant[]>> {
    const items = await queryAll(this.doc, this.table, GRANTS, undefined, 'list grants');
    return new Map(items.map((item) => [item[SORT_KEY] as string, item.grants as Grant[]]));
  }

  async getFederation(issuer: string): Promise<FederationRecord | undefined> {
    // An ID token names any issuer it likes; one that cannot be a key cannot be trusted either.
    if (!isKeyValue(issuer)) return undefined;
    return strip<FederationRecord>(await this.get(FEDERATIONS, issuer, 'read trusted issuer'));
  }

  async putFederation(record: FederationRecord): Promise<void> {
    await guarded('write trusted issuer', () => this.doc.send(new PutCommand({
      TableName: this.table, Item: { ...key(FEDERATIONS, record.issuer), ...record },
    })));
  }

  async deleteFederation(issuer: string): Promise<boolean> {
    const result = await guarded('delete trusted issuer', () => this.doc.send(new DeleteCommand({
      TableName: this.table, Key: key(FEDERATIONS, issuer), ReturnValues: 'ALL_OLD',
    })));
    return result.Attributes !== undefined;
  }

  async listFederations(): Promise<FederationRecord[]> {
    const items = await queryAll(this.doc, this.table, FEDERATIONS, undefined, 'list trusted issuers');
    return items.map((item) => strip<FederationRecord>(item)!);
  }

  private async get(pk: string, sk: string, what: string): Promise<Record<string, unknown> | undefined> {
    const result = await guarded(what, () => this.doc.send(new GetCommand({ TableName: this.table, Key: key(pk, sk), ConsistentRead: true })));
    return result.Item;
  }
}

/**
 * Failed-login counters shared by every Lambda instance: one atomic ADD per failure, and
 * the item expires (TTL) when the caller says its window no longer matters. Reads are
 * strongly consistent, so an instance sees failures counted by the others at once.
 */
export class DynamoAttemptCounter implements AttemptCounter {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string) {}

  async increment(counterKey: string, window: number, expiresAt: number): Promise<number> {
    const result = await guarded('count failed login', () => this.doc.send(new UpdateCommand({
      TableName: this.table,
      Key: key(attemptsPartition(counterKey), String(window)),
      UpdateExpression: 'ADD #count :one SET #ttl = :ttl',
      ExpressionAttributeNames: { '#count': 'count', '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':one': 1, ':ttl': expiresAt },
      ReturnValues: 'UPDATED_NEW',
    })));
    return Number(result.Attributes?.count ?? 1);
  }

  async count(counterKey: string, window: number): Promise<number> {
    const result = await guarded('read failed logins', () => this.doc.send(new GetCommand({
      TableName: this.table, Key: key(attemptsPartition(counterKey), String(window)), ConsistentRead: true,
    })));
    return Number(result.Item?.count ?? 0);
  }

  async reset(counterKey: string, window: number): Promise<void> {
    await guarded('reset failed logins', () => this.doc.send(new DeleteCommand({
      TableName: this.table, Key: key(attemptsPartition(counterKey), String(window)),
    })));
  }
}
