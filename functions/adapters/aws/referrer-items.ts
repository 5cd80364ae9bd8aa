import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { referrerDescriptorOf, type Descriptor, type ManifestRecord } from '../../core/index';
import { itemKeys } from './data-layout';
import { queryAll } from './dynamo-helpers';
import type { TransactItem } from './transactions';

/**
 * Referrer entries (`REFERRERS#<repo>#<subject>` / `<digest>`, data-layout.ts): a manifest
 * with a subject is listed under it by its descriptor, written and removed in the manifest's
 * own transactions, so the referrers API answers with one Query and no manifest read.
 */
export const referrerItems = {
  put(table: string, repository: string, manifest: ManifestRecord & { subject: string }): TransactItem {
    return { Put: { TableName: table, Item: { ...itemKeys.referrer(repository, manifest.subject, manifest.digest), ...referrerDescriptorOf(manifest) } } };
  },

  remove(table: string, repository: string, subject: string, digest: string): TransactItem {
    return { Delete: { TableName: table, Key: itemKeys.referrer(repository, subject, digest) } };
  },

  async list(doc: DynamoDBDocumentClient, table: string, repository: string, subject: string): Promise<Descriptor[]> {
    const items = await queryAll(doc, table, itemKeys.referrersPartition(repository, subject), undefined, 'DynamoDB Query (referrers)');
    return items.map((item) => {
      const descriptor: Descriptor = { mediaType: item.mediaType as string, digest: item.digest as string, size: item.size as number };
      if (item.artifactType !== undefined) descriptor.artifactType = item.artifactType as string;
      if (item.annotations !== undefined) descriptor.annotations = item.annotations as Record<string, string>;
      return descriptor;
    });
  },
};
