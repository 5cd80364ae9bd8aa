import { createHash } from 'node:crypto';
import { createAwsStores, type AwsStores, type AwsStoresOptions } from '../../functions/adapters/aws/index';
import { createRegistry, type Registry, type RegistryConfig } from '../../functions/core/index';
import type { AwsEmulators } from '../../functions/dev/emulators';

/** What one storage call did, as seen by the SDK client. */
export interface StorageCall {
  command: string;
  /** The service's error name, when the call failed. */
  error?: string;
}

export interface AwsRegistryFixture {
  registry: Registry;
  stores: AwsStores;
  table: string;
  bucket: string;
  /** Every S3 and DynamoDB call made so far, in order of issue. */
  calls: StorageCall[];
}

const instrumented = new WeakSet<object>();
const sinks: StorageCall[][] = [];

/**
 * A registry over the AWS adapters on fresh emulator resources, with every SDK call
 * recorded. Clients are shared per configuration, so the recorder is installed once per
 * client and fans out to every fixture.
 */
export async function awsRegistry(
  emulators: AwsEmulators, config: Partial<RegistryConfig> = {}, storeOptions: Partial<AwsStoresOptions> = {},
): Promise<AwsRegistryFixture> {
  const { table, bucket } = await emulators.createResources();
  const stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket, ...storeOptions });
  const calls: StorageCall[] = [];
  sinks.push(calls);
  if (!instrumented.has(stores.clients.s3)) {
    instrumented.add(stores.clients.s3);
    stores.clients.s3.middlewareStack.add(recordCall as never, { step: 'initialize', name: 'recordStorageCalls' });
  }
  if (!instrumented.has(stores.clients.dynamodb)) {
    instrumented.add(stores.clients.dynamodb);
    stores.clients.dynamodb.middlewareStack.add(recordCall as never, { step: 'initialize', name: 'recordStorageCalls' });
  }
  const registry = createRegistry({
    blobs: stores.blobs, metadata: stores.metadata,
    config: { uploadSecret: new Uint8Array(32).fill(9), ...config },
  });
  return { registry, stores, table, bucket, calls };
}

/** SDK middleware that notes each call, and its error name if it fails. */
function recordCall(next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) {
  return async (args: unknown) => {
    const call: StorageCall = { command: String(context.commandName) };
    for (const sink of sinks) sink.push(call);
    try {
      return await next(args);
    } catch (error) {
      call.error = (error as Error).name;
      throw error;
    }
  };
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Hashes a response body as it streams, without holding it. */
export async function sha256OfStream(body: ReadableStream<Uint8Array> | null): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  if (body) {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
