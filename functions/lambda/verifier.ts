/**
 * The direct-upload verifier's Lambda entry: wiring only. It receives a task from the
 * registry function (an asynchronous invoke), streams the assembled object from S3 through
 * SHA-256, and only on a match makes the blob visible (core: DirectUploads.verify).
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
    powertools.error('not a registry task', { event: JSON.stringify(event).slice(0, 500) });
    return; // nothing to retry
  }
  powertools.appendKeys({ task: event.nimbusTask.type, upload: event.nimbusTask.upload });
  try {
    await registry.runTask(event.nimbusTask);
    powertools.info('task done');
  } finally {
    powertools.resetKeys();
  }
}
