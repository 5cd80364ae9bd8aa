import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  BILLING_MODE, GLOBAL_SECONDARY_INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE,
} from '../../functions/adapters/aws/table-schema';

export interface MetadataTableProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Refuse DeleteTable until this is turned off again. @default false */
  readonly deletionProtection?: boolean;
}

/**
 * The metadata table, built from the adapters' own schema module so keys, indexes and
 * the TTL attribute cannot drift from the code that reads them. On-demand, with
 * point-in-time recovery; TTL reclaims abandoned upload sessions.
 */
export class MetadataTable extends Construct {
  readonly table: dynamodb.Table;
  readonly indexNames: readonly string[];

  constructor(scope: Construct, id: string, props: MetadataTableProps = {}) {
    super(scope, id);
    const string = dynamodb.AttributeType.STRING;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: string },
      sortKey: { name: SORT_KEY, type: string },
      billingMode: BILLING_MODE === 'PAY_PER_REQUEST' ? dynamodb.BillingMode.PAY_PER_REQUEST : dynamodb.BillingMode.PROVISIONED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // Wakes the events function when an outbox entry is written (keys only: it reads the outbox itself).
      stream: dynamodb.StreamViewType.KEYS_ONLY,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of GLOBAL_SECONDARY_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: string },
        sortKey: { name: index.sortKey, type: string },
        projectionType: index.projection === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
    this.indexNames = GLOBAL_SECONDARY_INDEXES.map((index) => index.indexName);
  }
}
