import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsIdentityStore } from '../adapters/fs/identity-store';
import { jsonLogger } from '../adapters/node/logger';
import { startHttpServer } from '../adapters/node-http/server';
import { lockDataDir, removeTmpLeftovers } from '../adapters/fs/data-dir';
import { createLocalRegistry } from './local-registry';
import { originOf } from '../adapters/node/public-url';
import { helpText, readSettings, SettingsError } from './settings';
import { startGcLoop } from './gc-loop';

const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  const settings = readSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  await mkdir(settings.dataDir, { recursive: true });
  const unlock = await lockDataDir(settings.dataDir);
  // Known once the server listens (PORT=0 picks the port); set before any request is read.
  const bound: { port?: string } = {};
  const publicUrl = () => settings.publicUrl ?? originOf(settings.host, bound.port ?? settings.port);
  const local = await createLocalRegistry(settings, logger, undefined, publicUrl);
  const server = await startHttpServer({
    fetch: local.registry.fetch,
    logger,
    host: settings.host,
    port: settings.port,
    ...(settings.publicUrl ? { publicOrigin: settings.publicUrl } : {}),
  });
  bound.port = new URL(server.url).port;
  // Where `npx nimbus gc` reaches this server: while it runs, collection goes through it.
  const urlFile = join(settings.dataDir, '.url');
  await writeFile(urlFile, `${server.url}\n`, { mode: 0o600 });
  const stopGc = startGcLoop({
    passes: local.registry.services.gc!, intervalSeconds: settings.gcIntervalSeconds, minAgeSeconds: settings.gcMinAgeSeconds, logger,
  });
  // Expired uploads, and temporary files a crash left in tmp/.
  const sweep = () => Promise.all([local.sweepExpiredUploads(), removeTmpLeftovers(settings.dataDir)])
    .then(([count, leftovers]) => (count || leftovers) && logger.log('info', 'swept expired uploads', { count, tmpLeftovers: leftovers }))
    .catch((error: unknown) => logger.log('warn', 'upload sweep failed', { error: String(error) }));
  void sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  logger.announce('nimbus registry listening', {
    url: server.url, dataDir: settings.dataDir, auth: settings.auth ? 'on' : 'off', ...(settings.auth ? { publicUrl: publicUrl() } : {}),
  });
  if (settings.auth && (await new FsIdentityStore(settings.dataDir).listPrincipals()).length === 0) {
    logger.log('warn', 'auth is on and there are no users yet: add one with `npx nimbus user add NAME --password-stdin`, then `npx nimbus grant NAME \'**\' pull,push,delete`');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'shutting down', { signal });
    clearInterval(sweeper);
    stopGc();
    await server.close();
    await rm(urlFile, { force: true });
    await unlock();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof SettingsError || error instanceof Error ? error.message : String(error);
  console.error(`nimbus: ${message}`);
  if (!(error instanceof SettingsError) && error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('The port is taken: stop the other server or set PORT to a free port (PORT=5001 npm start).');
  }
  process.exit(1);
});
