import { Option, type Command } from 'commander';
import type { GcReport } from '../functions/core/gc/ports';
import { CliError } from './errors';
import { formatBytes as humanBytes } from './push/progress';
import { addAdminTargetOptions, expectOk, openAdminEndpoint, type AdminOptions } from './admin-endpoint';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "0", "90s", "30m", "24h", "7d" (a bare number is seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) throw new CliError(`--min-age takes a duration like 0, 90s, 30m, 24h or 7d, not "${text}"`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's']!;
  if (seconds > 10 * 365 * 86_400) throw new CliError(`--min-age ${text} is longer than ten years`);
  return seconds * 1000;
}

/** The human summary of a pass. */
export function summarize(report: GcReport, where: string): string {
  const verb = report.dryRun ? 'would free' : 'freed';
  const lines = [
    `${report.dryRun ? 'Dry run' : 'Garbage collection'} on ${where}: ${verb} ${humanBytes(report.bytesFreed + report.uploadBytesFreed + report.orphanBytesFreed)} in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  blobs ${report.dryRun ? 'to delete' : 'deleted'}: ${report.blobsDeleted} (${humanBytes(report.bytesFreed)}), reviews handled: ${report.reviewed}`,
    `  referrers ${report.dryRun ? 'to delete' : 'deleted'}: ${report.referrersDeleted}`,
    `  abandoned uploads: ${report.uploadsSwept} (${humanBytes(report.uploadBytesFreed)})`,
  ];
  if (report.full) lines.push(`  orphaned files: ${report.orphansDeleted} (${humanBytes(report.orphanBytesFreed)})`);
  if (report.dryRun) lines.push(...report.deleted.map((blob) => `  - ${blob.digest} ${humanBytes(blob.size)}`));
  if (!report.complete) lines.push('  stopped early: run again to go on');
  return lines.join('\n');
}

interface GcCommandOptions extends AdminOptions {
  dryRun?: boolean;
  minAge?: number;
  full?: boolean;
  json?: boolean;
}

/** POST /v2/_nimbus/gc with the pass's options as its query. */
export function gcPath(options: GcCommandOptions): string {
  const query = new URLSearchParams();
  if (options.dryRun) query.set('dryRun', '1');
  if (options.full) query.set('full', '1');
  if (options.minAge !== undefined) query.set('minAge', String(Math.floor(options.minAge / 1000)));
  const text = query.toString();
  return `/v2/_nimbus/gc${text ? `?${text}` : ''}`;
}

/** `nimbus gc`: one garbage collection pass, now. */
export function registerGcCommand(program: Command): void {
  const command = program.command('gc')
    .description('free the bytes of blobs no manifest uses (after the safety window), and sweep abandoned uploads')
    .option('--dry-run', 'list what would go, delete nothing')
    .addOption(new Option('--min-age <duration>', 'safety window: only blobs unreferenced and untouched this long go (0, 90s, 30m, 24h, 7d)').argParser(parseDuration))
    .option('--full', 'look at every blob, not only what changed since the last pass; also remove orphaned files')
    .option('--json', 'print the report as JSON');
  addAdminTargetOptions(command)
    .addHelpText('after', [
      '',
      'With npm start running on the data dir, the pass runs in that server (it wrote <data>/.url);',
      'otherwise in this process, holding the data dir\'s lock. With auth on, set NIMBUS_USERNAME and',
      'NIMBUS_PASSWORD (or docker login) to a user granted \'**\' pull,push,delete. The default window is 24h.',
      'A deployed stack: --table/--stack with --bucket (its scheduled GC function runs daily anyway);',
      'npm run dev:aws: --dynamodb-local URL --table NAME --bucket NAME --s3-endpoint URL (its log prints them).',
      '',
      'Examples:',
      '  npx nimbus gc --dry-run',
      '  npx nimbus gc --min-age 0        # collect everything unreferenced now (tests)',
      '  npx nimbus gc --full --json',
      '  npx nimbus gc --registry https://registry.example.com --min-age 7d',
    ].join('\n'))
    .action(async (options: GcCommandOptions, self: Command) => {
      const target = { ...(self.optsWithGlobals() as AdminOptions), ...options };
      const endpoint = await openAdminEndpoint({ ...target, needsBucketFor: 'garbage collection' });
      try {
        const report = await expectOk<GcReport>(await endpoint.request('POST', gcPath(options)), 'garbage collection');
        console.log(options.json ? JSON.stringify(report, null, 2) : summarize(report, endpoint.where));
      } finally {
        await endpoint.close();
      }
    });
}

