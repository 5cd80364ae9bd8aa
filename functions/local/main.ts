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
import { startRetentionLoop } from './retention-loop';
import { retentionDepsOf } from '../core/policy/scheduled-run';
import { withOps } from './ops';
import { readTlsFiles, reloadTlsOnSighup } from './tls';
import { healthcheck } from './healthcheck';
import { releaseMemoryWhenIdle } from '../adapters/node/idle-memory';

const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(helpText());
    return;
  }
  const settings = readSettings(process.env);
  if (process.argv.includes('--healthcheck')) process.exit(await healthcheck(settings));
  const logger = jsonLogger(settings.logLevel);
  await mkdir(settings.dataDir, { recursive: true });
  const unlock = await lockDataDir(settings.dataDir);
  // Known once the server listens (PORT=0 picks the port); set before any request is read.
  const bound: { port?: string } = {};
  const scheme = settings.tls ? 'https' : 'http';
  const publicUrl = () => settings.publicUrl ?? originOf(settings.host, bound.port ?? settings.port, scheme);
  const tls = settings.tls && await readTlsFiles(settings.tls);
  const local = await createLocalRegistry(settings, logger, undefined, publicUrl);
  // prom-client is loaded only when metrics are on.
  const metricsModule = settings.metrics === 'off' ? undefined : await import('./metrics');
  const metrics = metricsModule && new metricsModule.RegistryMetrics(local.uploadCount);
  // Before the first request: what the outbox owes is queued ahead of anything committed from now on.
  const stopWebhooks = await local.webhooks.start();
  const idleMemory = settings.idleReleaseSeconds > 0 ? releaseMemoryWhenIdle({
    idleMs: settings.idleReleaseSeconds * 1000,
    onRelease: (record) => logger.log('debug', 'released idle memory', { ms: Math.round(record.ms), rssMiB: [record.rssBefore, record.rssAfter].map((b) => Math.round(b / 2 ** 20)) }),
  }) : undefined;
  const server = await startHttpServer({
    fetch: withOps(local.registry.fetch, { dataDir: settings.dataDir, metrics, metricsOnRegistryPort: settings.metrics === 'on' }),
    logger,
    host: settings.host,
    port: settings.port,
    ...(settings.publicUrl ? { publicOrigin: settings.publicUrl } : {}),
    ...(tls ? { tls } : {}),
    ...(metrics ? { onExchange: (exchange) => metrics.record(exchange) } : {}),
    ...(idleMemory ? { activity: idleMemory } : {}),
  });
  bound.port = new URL(server.url).port;
  // Where `npx nimbus gc` reaches this server: while it runs, collection goes through it.
  const urlFile = join(settings.dataDir, '.url');
  await writeFile(urlFile, `${server.url}\n`, { mode: 0o600 });
  if (metrics) local.registry.services.gc?.onReport((report) => metrics.recordGc(report, Date.now()));
  const stopGc = startGcLoop({
    passes: local.registry.services.gc!, intervalSeconds: settings.gcIntervalSeconds, minAgeSeconds: settings.gcMinAgeSeconds, logger,
  });
  const retentionDeps = retentionDepsOf(local.registry.services);
  const stopRetention = retentionDeps ? startRetentionLoop({ deps: retentionDeps, intervalSeconds: settings.retentionIntervalSeconds, logger }) : () => {};
  if (settings.tls) reloadTlsOnSighup(server, settings.tls, logger);
  const metricsServer = metricsModule && metrics && typeof settings.metrics === 'number'
    ? await metricsModule.startMetricsServer(metrics, settings.host, settings.metrics) : undefined;
  // Expired uploads, and temporary files a crash left in tmp/.
  const sweep = () => Promise.all([local.sweepExpiredUploads(), removeTmpLeftovers(settings.dataDir)])
    .then(([count, leftovers]) => (count || leftovers) && logger.log('info', 'swept expired uploads', { count, tmpLeftovers: leftovers }))
    .catch((error: unknown) => logger.log('warn', 'upload sweep failed', { error: String(error) }));
  void sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  // Before the announcement: whoever reads it may signal at once (tests, supervisors).
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'shutting down', { signal });
    clearInterval(sweeper);
    stopGc();
    stopRetention();
    idleMemory?.stop();
    // Uploads cut after the drain resume from their last checkpoint (GET on the upload URL says where).
    const cut = (requests: number) => logger.log('warn', 'drain time over: closing requests still in flight', { requests, drainSeconds: settings.drainSeconds });
    await Promise.all([server.close(settings.drainSeconds * 1000, cut), metricsServer?.close(0)]);
    // After the drain: pulls counted until the end are queued; what is owed is delivered by the next start.
    await stopWebhooks();
    await rm(urlFile, { force: true });
    await unlock();
    logger.log('info', 'stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  logger.announce('nimbus registry listening', {
    url: server.url, dataDir: settings.dataDir, auth: settings.auth ? 'on' : 'off', ...(settings.auth ? { publicUrl: publicUrl() } : {}),
    ...(metricsServer ? { metricsUrl: `${metricsServer.url}/metrics` } : {}),
  });
  if (settings.auth && (await new FsIdentityStore(settings.dataDir).listPrincipals()).length === 0) {
    logger.log('warn', 'auth is on and there are no users yet: add one with `npx nimbus user add NAME --password-stdin`, then `npx nimbus grant NAME \'**\' pull,push,delete`');
  }
}

main().catch((error: unknown) => {
  const message = error instanceof SettingsError || error instanceof Error ? error.message : String(error);
  console.error(`nimbus: ${message}`);
  if (!(error instanceof SettingsError) && error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('The port is taken: stop the other server or set PORT to a free port (PORT=5001 npm start).');
  }
  process.exit(1);
});
