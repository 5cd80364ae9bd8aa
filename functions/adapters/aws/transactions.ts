import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { guarded, isAwsError, toStoreError } from './aws-errors';

export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** DynamoDB's limit on the actions of one TransactWriteItems. */
export const MAX_TRANSACTION_ACTIONS = 100;

/** Runs a transaction; any condition that fails makes it a StoreConflictError (see aws-errors.ts). */
export async function transact(doc: DynamoDBDocumentClient, what: string, actions: TransactItem[]): Promise<void> {
  await guarded(`DynamoDB TransactWriteItems (${what})`, () => doc.send(new TransactWriteCommand({ TransactItems: actions })));
}

/**
 * Runs a transaction whose conditions the caller interprets: returns the indexes of the
 * actions whose condition failed (none: it committed). A cancellation for any other reason,
 * such as a concurrent transaction on one of the items, is thrown as the store error it maps
 * to (StoreConflictError: retry). The SDK sends one ClientRequestToken per call, so its own
 * retries of a request whose answer was lost cannot apply the transaction twice.
 */
export async function transactConditions(doc: DynamoDBDocumentClient, what: string, actions: TransactItem[]): Promise<number[]> {
  try {
    await doc.send(new TransactWriteCommand({ TransactItems: actions }));
    return [];
  } catch (error) {
    if (isAwsError(error, 'TransactionCanceledException')) {
      const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      const failed = codes.flatMap((code, index) => (code === 'ConditionalCheckFailed' ? [index] : []));
      if (failed.length > 0 && codes.every((code) => code === 'None' || code === 'ConditionalCheckFailed')) return failed;
    }
    throw toStoreError(error, `DynamoDB TransactWriteItems (${what})`);
  }
}
