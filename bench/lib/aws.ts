import { MAX_LAMBDA_BODY_BYTES } from '../../functions/adapters/apigw/limits';
import { createAwsStores, type AwsStores } from '../../functions/adapters/aws/index';
import { createRegistry, type Registry } from '../../functions/core/index';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { availability, type BenchContext } from './section';

/** DynamoDB Local and fauxqs, started once for every AWS section of this bench run. */
export function awsEmulators(ctx: BenchContext): Promise<AwsEmulators> {
  return ctx.shared('aws-emulators', () => {
    ctx.log('starting DynamoDB Local and fauxqs');
    return availability('AWS emulators (DynamoDB Local needs Java 17+, fauxqs needs npm ci)', startAwsEmulators);
  }, (emulators) => emulators.stop());
}

export interface InProcessAwsRegistry {
  registry: Registry;
  stores: AwsStores;
  table: string;
  bucket: string;
}

/**
 * The registry core on the AWS adapters, in this process, on a fresh table and bucket:
 * what the Lambda runs, minus the API Gateway event conversion. Configured as the Lambda
 * is (request bodies up to MAX_LAMBDA_BODY_BYTES, blob GETs redirected), with the core's
 * default hashing (hash-wasm, resumable across invocations). Errors go to `log`.
 */
export async function inProcessAwsRegistry(emulators: AwsEmulators, log: (message: string) => void): Promise<InProcessAwsRegistry> {
  const { table, bucket } = await emulators.createResources();
  const stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
  const registry = createRegistry({
    blobs: stores.blobs,
    metadata: stores.metadata,
    logger: {
      log(level, message, fields) {
        if (level === 'error' || level === 'warn') log(`registry ${level}: ${message} ${JSON.stringify(fields ?? {}).slice(0, 500)}`);
      },
    },
    config: { uploadSecret: new Uint8Array(32).fill(7), blobRedirectSeconds: 300, maxRequestBodyBytes: MAX_LAMBDA_BODY_BYTES },
  });
  return { registry, stores, table, bucket };
}

/** In-process requests need an absolute URL; the host is never contacted. */
export const IN_PROCESS_BASE = 'http://nimbus.bench';

/** CPU (user + system, all threads) this process has used, in ms. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export { MAX_LAMBDA_BODY_BYTES };
