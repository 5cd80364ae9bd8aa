import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoMetadataStore } from '../../functions/adapters/aws/dynamo-metadata-store';
import type { GcReport } from '../../functions/core/gc/ports';
import { runNimbus } from '../support/nimbus-cli';
import { RegistryClient, bodyText, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256 } from '../api/client';
import { devAwsTarget, type RunningDevAws } from '../support/dev-aws-target';
import { authHeaders } from '../support/registry-target';

interface Image { tag: string; digest: string; body: string; blobs: Map<string, Uint8Array> }

/**
 * The acceptance run of garbage collection through `npm run dev:aws`: 20 images that share
 * layers, 10 deleted, `npx nimbus gc --min-age 0` on the emulators (--dynamodb-local, --table,
 * --bucket, --s3-endpoint, as dev:aws prints them) while the registry serves, then the S3 emulator
 * holds exactly the bytes of the 10 survivors, which pull back byte for byte.
 */
describe('dev:aws: online garbage collection', () => {
  let registry: RunningDevAws;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await devAwsTarget({ uploadEndpoint: false }).start();
    const auth = authHeaders(registry);
    client = new RegistryClient(async (request) => {
      const headers = new Headers(request.headers);
      for (const [name, value] of Object.entries(auth)) headers.set(name, value);
      return fetch(new Request(request, { headers, duplex: 'half' } as RequestInit));
    }, registry.url);
  }, 180_000);
  afterAll(async () => registry?.stop(), 60_000);

  it('frees every byte only deleted images used, and the survivors pull back byte for byte', async () => {
    const repository = 'gc/app';
    const base = randomBytes(3000);
    const shared = Array.from({ length: 5 }, () => randomBytes(2000));
    const onlyDeleted = randomBytes(2500); // shared, but only by images that are deleted
    const images: Image[] = [];
    for (let index = 0; index < 20; index++) {
      const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', index, nonce: randomBytes(6).toString('hex') }));
      const layers = [base, shared[index % 5]!, randomBytes(1500 + index), ...(index % 2 === 0 ? [onlyDeleted] : [])];
      const blobs = new Map<string, Uint8Array>([[sha256(config), config], ...layers.map((layer) => [sha256(layer), layer] as [string, Uint8Array])]);
      for (const bytes of blobs.values()) await client.pushBlob(repository, bytes);
      const body = JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.byteLength },
        layers: layers.map((layer) => ({ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.byteLength })),
      });
      const put = await client.putManifest(repository, `v${index}`, body, OCI_MANIFEST);
      expect(put.status, await bodyText(put)).toBe(201);
      images.push({ tag: `v${index}`, digest: sha256(body), body, blobs });
    }
    const deleted = images.filter((_, index) => index % 2 === 0);
    const survivors = images.filter((_, index) => index % 2 === 1);
    for (const image of deleted) expect((await client.send('DELETE', `/v2/${repository}/manifests/${image.digest}`)).status).toBe(202);

    const run = await runNimbus([
      'gc', '--min-age', '0', '--json',
      '--dynamodb-local', registry.dynamodbEndpoint, '--table', registry.table, '--bucket', registry.bucket, '--s3-endpoint', registry.s3Endpoint,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as GcReport;
    expect(report.complete).toBe(true);

    const kept = new Set(survivors.flatMap((image) => [...image.blobs.keys()]));
    const gone = new Set(deleted.flatMap((image) => [...image.blobs.keys()]).filter((digest) => !kept.has(digest)));
    expect(gone.has(sha256(onlyDeleted))).toBe(true);
    expect(new Set(report.deleted.map((blob) => blob.digest))).toEqual(gone);
    expect(report.bytesFreed).toBe([...gone].reduce((sum, digest) => sum + deleted.find((i) => i.blobs.has(digest))!.blobs.get(digest)!.byteLength, 0));

    // The emulator holds exactly the survivors' blobs: every other byte is gone.
    const { s3, dynamodb } = awsClients({ region: 'us-east-1', endpoints: { s3: registry.s3Endpoint, dynamodb: registry.dynamodbEndpoint }, emulator: true });
    const stores = { metadata: new DynamoMetadataStore(dynamodb, s3, { table: registry.table, bucket: registry.bucket }) };
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: registry.bucket, Prefix: 'blobs/' }));
    const locations = await Promise.all([...kept].map(async (digest) => (await stores.metadata.getBlob(digest))!.location));
    expect((listed.Contents ?? []).map((object) => object.Key).sort()).toEqual(locations.sort());
    for (const digest of gone) expect(await stores.metadata.getBlob(digest)).toBeUndefined();

    for (const image of survivors) {
      const manifest = await client.send('GET', `/v2/${repository}/manifests/${image.tag}`, { headers: { Accept: OCI_MANIFEST } });
      expect(await manifest.text()).toBe(image.body);
      for (const [digest, bytes] of image.blobs) {
        const blob = await client.send('GET', `/v2/${repository}/blobs/${digest}`);
        expect(blob.status, digest).toBe(200);
        expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(bytes)), digest).toBe(true);
      }
    }
    for (const image of deleted) expect((await client.send('GET', `/v2/${repository}/manifests/${image.tag}`)).status).toBe(404);
  }, 600_000);
});
