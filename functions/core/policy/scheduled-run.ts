import type { Services } from '../context';
import type { Logger } from '../ports';
import { runRetention, type RetentionDeps, type RetentionReport } from './runner';

/**
 * What POST /v2/_nimbus/retention/run runs with, from a registry's services: the same stores,
 * clock and events, so a scheduled run records io.nimbus.*.deleted (reason retention) as a
 * manual one does. Undefined when the registry has no policy store or inventory.
 */
export function retentionDepsOf(services: Services): RetentionDeps | undefined {
  const { policies, inventory } = services;
  if (!policies || !inventory) return undefined;
  return { metadata: services.metadata, inventory, policies, clock: services.clock, ...(services.events ? { events: services.events } : {}) };
}

/**
 * One retention run nobody asked for (npm start's loop, the AWS collector's schedule): applies
 * the retention document and the cache rules' lifecycles. One info line when it deleted
 * something, debug otherwise, so a daily run that finds nothing does not fill the log.
 */
export async function runScheduledRetention(deps: RetentionDeps, logger: Logger, options: { dryRun?: boolean; deadline?: number } = {}): Promise<RetentionReport> {
  const report = await runRetention(deps, { dryRun: options.dryRun ?? false, ...(options.deadline === undefined ? {} : { deadline: options.deadline }) });
  const fields = {
    trigger: 'schedule', dryRun: report.dryRun, repositories: report.repositories, tagsDeleted: report.tagsDeleted, manifestsDeleted: report.manifestsDeleted,
    bytesFreed: report.bytesFreed, skipped: report.skipped.length,
  };
  logger.log(report.deleted.length > 0 ? 'info' : 'debug', 'scheduled retention run', fields);
  return report;
}
