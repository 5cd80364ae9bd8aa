import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { itemKeys } from '../../functions/adapters/aws/data-layout';
import { ReferenceRecords, targetsOf } from '../../functions/adapters/aws/reference-records';
import { StoreInUseError } from '../../functions/core/index';
import { imageOf, linkedBlob, uniqueName } from '../contract/metadata-helpers';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';

/**
 * What a Lambda that dies between the transactions of a large manifest put or delete leaves
 * in DynamoDB: references counted for a generation that is not (or no longer) visible. The
 * manifest is never served without its references, and such leftovers only leak: they keep
 * their blobs linked until released (garbage collection's job), with exact accounting.
 */
describe('DynamoDB store after a crash between reference transactions', () => {
  let emulators: AwsEmulators;
  let stores: AwsStores;
  let table: string;
  let records: ReferenceRecords;

  beforeAll(async () => {
    emulators = await startAwsEmulators();
    const resources = await emulators.createResources();
    table = resources.table;
    stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, ...resources });
    records = new ReferenceRecords(stores.clients.dynamodb, table);
  });
  afterAll(async () => emulators?.stop());

  it('leaks, never dangles, after a crash between counting references and writing the manifest', async () => {
    const store = stores.metadata;
    const repo = uniqueName('crash-put');
    const blob = await linkedBlob(store, repo);
    const image = imageOf([blob]);
    const targets = targetsOf(image.references);
    expect(await records.record(repo, image.manifest.digest, 'crashed0001', targets)).toBeUndefined();
    expect(await store.getManifest(repo, image.manifest.digest)).toBeUndefined();
    await expect(store.unlinkBlob(repo, blob)).rejects.toMatchObject({ holder: image.manifest.digest });
    await store.putManifest(repo, image.manifest, image.references, 'v1'); // the client's retry
    await expect(store.unlinkBlob(repo, blob)).rejects.toMatchObject({ holder: image.manifest.digest }); // two generations hold it
    expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
    await expect(store.unlinkBlob(repo, blob)).rejects.toBeInstanceOf(StoreInUseError); // the crashed generation
    await records.release(repo, image.manifest.digest, 'crashed0001', targets);
    expect(await store.unlinkBlob(repo, blob)).toBe(true);
  });

  it('leaks, never dangles, after a crash between deleting the manifest and releasing its references', async () => {
    const store = stores.metadata;
    const repo = uniqueName('crash-delete');
    const blob = await linkedBlob(store, repo);
    const image = imageOf([blob]);
    await store.putManifest(repo, image.manifest, image.references);
    const key = itemKeys.manifest(repo, image.manifest.digest);
    const item = (await stores.clients.dynamodb.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item!;
    await stores.clients.dynamodb.send(new DeleteCommand({ TableName: table, Key: key })); // the delete's first transaction
    expect(await store.getManifest(repo, image.manifest.digest)).toBeUndefined();
    await expect(store.unlinkBlob(repo, blob)).rejects.toBeInstanceOf(StoreInUseError);
    await store.putManifest(repo, image.manifest, image.references, 'again');
    expect(await store.getManifest(repo, image.manifest.digest)).toBeDefined();
    expect(await store.deleteManifest(repo, image.manifest.digest)).toBe(true);
    await records.release(repo, image.manifest.digest, item.generation as string, targetsOf(image.references));
    expect(await store.unlinkBlob(repo, blob)).toBe(true);
  });
});
