import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lockDataDir } from '../functions/adapters/fs/data-dir';
import { FsGcStore } from '../functions/adapters/fs/gc-store';
import { KeyedMutex } from '../functions/adapters/fs/keyed-mutex';
import { FsMetadataStore } from '../functions/adapters/fs/metadata-store';
import type { GcOptions, GcReport } from '../functions/core/gc/ports';
import { runGc } from '../functions/core/gc/runner';
import { adminRequest } from './admin-http';
import { CliError } from './errors';
import { errorMessage } from './push/auth';
import { localDataDir, type TargetOptions } from './target';

export interface GcTargetOptions extends TargetOptions {
  /** A running registry to ask (POST /v2/_nimbus/gc). */
  registry?: string;
}

/** Where a pass runs: a running server, or this process holding the data dir's lock. */
export interface GcTarget {
  /** For the summary: "http://127.0.0.1:5000" or "/var/lib/nimbus (in-process)". */
  readonly where: string;
  run(options: GcOptions): Promise<GcReport>;
  close(): Promise<void>;
}

/**
 * The registry `npx nimbus gc` collects. A local data dir that a server is using is
 * collected through that server (it found at <data>/.url), since only it may write there;
 * an idle one in-process, under the data dir's lock. (Deployed stacks: --table/--stack.)
 */
export async function openGcTarget(options: GcTargetOptions): Promise<GcTarget> {
  if (options.registry) return serverTarget(options.registry);
  const dataDir = localDataDir(options);
  if (dataDir === undefined) throw new CliError('garbage collection of a deployed stack (--table, --stack, --dynamodb-local) is not available in this build');
  if (!existsSync(dataDir)) throw new CliError(`no data directory at ${dataDir}: point --data-dir or NIMBUS_DATA_DIR at the one npm start uses`);
  let unlock: () => Promise<void>;
  try {
    unlock = await lockDataDir(dataDir);
  } catch (error) {
    const url = (await readFile(join(dataDir, '.url'), 'utf8').catch(() => '')).trim();
    if (url) return serverTarget(url);
    throw new CliError(`${(error as Error).message} (and it wrote no ${join(dataDir, '.url')} to reach it at: pass --registry URL)`);
  }
  return localTarget(dataDir, unlock);
}

function serverTarget(base: string): GcTarget {
  let origin: URL;
  try {
    origin = new URL(base);
  } catch {
    throw new CliError(`--registry takes a URL like http://localhost:5000, not "${base}"`);
  }
  return {
    where: origin.origin,
    async run(options) {
      const url = new URL('/v2/_nimbus/gc', origin);
      if (options.dryRun) url.searchParams.set('dryRun', '1');
      if (options.full) url.searchParams.set('full', '1');
      if (options.minAgeMs !== undefined) url.searchParams.set('minAge', String(Math.floor(options.minAgeMs / 1000)));
      const response = await adminRequest(url, { method: 'POST' });
      const text = await response.text();
      if (!response.ok) throw new CliError(`${origin.host} refused the garbage collection: ${errorMessage(text) ?? `HTTP ${response.status}`}`);
      return JSON.parse(text) as GcReport;
    },
    async close() {},
  };
}

async function localTarget(dataDir: string, unlock: () => Promise<void>): Promise<GcTarget> {
  const metadata = new FsMetadataStore(dataDir);
  await metadata.init();
  const gc = new FsGcStore(dataDir, { metadata, locks: new KeyedMutex() });
  return {
    where: `${dataDir} (in-process)`,
    run: (options) => runGc({ gc, metadata, clock: { now: () => Date.now() } }, options),
    close: unlock,
  };
}
