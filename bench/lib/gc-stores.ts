/**
 * The stores the gc bench section collects in: the fs store in a temporary data dir, and the
 * DynamoDB store on DynamoDB Local + fauxqs, each with a clock that moves only when told to,
 * so the safety window passes without waiting. Population writes through the MetadataStore
 * port directly (no HTTP): blob bytes, blob record, link, then manifests that reference them.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { awsClients, DynamoGcStore, DynamoMetadataStore } from '../../functions/adapters/aws/index';
import { FsGcStore } from '../../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { DataLayout } from '../../functions/adapters/fs/paths';
import type { GcStore } from '../../functions/core/gc/ports';
import type { MetadataStore } from '../../functions/core/ports';
import type { AwsEmulators } from '../../functions/dev/emulators';

export interface ManualClock {
  now(): number;
  advance(ms: number): void;
}

export function manualClock(start = Date.now()): ManualClock {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

export interface GcBenchStore {
  readonly metadata: MetadataStore;
  readonly gc: GcStore;
  readonly clock: ManualClock;
  /** Stores the blob's bytes where the store keeps them; returns the record's location. */
  writeBytes(digest: string, bytes: Uint8Array): Promise<string>;
  cleanup(): Promise<void>;
}

export async function fsGcStore(dir: string): Promise<GcBenchStore> {
  const clock = manualClock();
  const metadata = new FsMetadataStore(dir, { fsync: false, clock });
  await metadata.init();
  const layout = new DataLayout(dir);
  return {
    metadata, clock,
    gc: new FsGcStore(dir, { metadata, locks: new KeyedMutex(), fsync: false }),
    async writeBytes(digest, bytes) {
      const path = layout.blob(digest);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      return layout.blobLocation(digest);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function dynamoGcStore(emulators: AwsEmulators): Promise<GcBenchStore> {
  const clock = manualClock();
  const { table, bucket } = await emulators.createResources();
  const clients = awsClients({ region: emulators.region, endpoints: emulators.endpoints, emulator: true });
  return {
    clock,
    metadata: new DynamoMetadataStore(clients.dynamodb, clients.s3, { table, bucket, now: clock.now }),
    gc: new DynamoGcStore(clients.dynamodb, clients.s3, { table, bucket, now: clock.now }),
    async writeBytes(digest, bytes) {
      // As the S3 store names blobs: blobs/<one segment>, which the record's location points at.
      const key = `blobs/bench-${digest.slice('sha256:'.length)}`;
      await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength }));
      return key;
    },
    cleanup: async () => undefined,
  };
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const BLOBS_PER_MANIFEST = 10;
const REPOSITORIES = 20;

export interface PopulatedManifest {
  repository: string;
  digest: string;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Runs `task(i)` for i in [0, count) with at most `width` in flight. */
export async function pool(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

/**
 * `blobs` small blobs, BLOBS_PER_MANIFEST to a manifest (first one as config), each manifest
 * in one of REPOSITORIES repositories, every blob used by exactly one manifest. `progress`
 * gets the number of manifests stored so far.
 */
export async function populate(
  store: GcBenchStore, blobs: number, width: number, progress: (done: number, total: number) => void,
): Promise<PopulatedManifest[]> {
  const seed = `${Date.now()}-${Math.random()}`;
  const manifests = new Array<PopulatedManifest>(Math.ceil(blobs / BLOBS_PER_MANIFEST));
  let done = 0;
  await pool(manifests.length, width, async (m) => {
    const repository = `bench/gc-${m % REPOSITORIES}`;
    const digests: { digest: string; size: number }[] = [];
    for (let b = m * BLOBS_PER_MANIFEST; b < Math.min(blobs, (m + 1) * BLOBS_PER_MANIFEST); b++) {
      const bytes = new TextEncoder().encode(`gc bench blob ${seed} ${b}`);
      const digest = sha256(bytes);
      const location = await store.writeBytes(digest, bytes);
      await store.metadata.putBlob({ digest, size: bytes.byteLength, location, createdAt: store.clock.now() });
      await store.metadata.linkBlob(repository, digest);
      digests.push({ digest, size: bytes.byteLength });
    }
    const [config, ...layers] = digests;
    const body = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer })),
    }));
    const digest = sha256(body);
    await store.metadata.putManifest(
      repository, { digest, mediaType: OCI_MANIFEST, size: body.byteLength, body, createdAt: store.clock.now() },
      { blobs: digests.map((blob) => blob.digest), manifests: [] },
    );
    manifests[m] = { repository, digest };
    progress(++done, manifests.length);
  });
  return manifests;
}
