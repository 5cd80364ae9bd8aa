/**
 * The direct-upload verifier's Lambda entry: wiring only. It receives a task from the
 * registry function (an asynchronous invoke), streams the assembled object from S3 through
 * SHA-256, and only on a match makes the blob visible (core: DirectUploads.verify).
 *
 * Failures throw, so Lambda retries the event and then hands it to the function's
 * on-failure destination (a dead-letter queue): storage errors, and events that are not
 * registry tasks. A duplicate event (a retry, or a status request that handed an overdue
 * verification over again) finds the upload settled and does nothing.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createAwsStores } from '../adapters/aws/index';
import { nodeHashing } from '../adapters/node/hashing';
import { createRegistry } from '../core/index';
import { powertoolsLogger } from './logger';
import { readVerifierSettings } from './verifier-settings';
import { isTaskEvent } from './task-queue';

const settings = readVerifierSettings(process.env);
const powertools = new Logger({ serviceName: 'nimbus-verifier' });
const logger = powertoolsLogger(powertools);
const stores = createAwsStores({ bucket: settings.bucket, table: settings.table, emulator: settings.emulator });
const registry = createRegistry({
  blobs: stores.blobs,
  metadata: stores.metadata,
  logger,
  // One request carries the whole object here: node:crypto is ~5x faster than hash-wasm.
  hashing: nodeHashing(),
  // This function mints no upload URLs; the core still wants a key, so it gets a throwaway one.
  config: { uploadSecret: new Uint8Array(randomBytes(32)) },
});

export async function handler(event: unknown, context: Context): Promise<void> {
  powertools.addContext(context);
  if (!isTaskEvent(event)) {
    powertools.error('not a registry task', { event: JSON.stringify(event ?? null).slice(0, 500) });
    throw new Error('not a registry task: kept in the dead-letter queue for inspection');
  }
  powertools.appendKeys({ task: event.nimbusTask.type, upload: event.nimbusTask.upload });
  try {
    await registry.runTask(event.nimbusTask);
    powertools.info('task done');
  } catch (error) {
    powertools.error('task failed; Lambda retries it, then keeps it in the dead-letter queue', { error: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    powertools.resetKeys();
  }
}
