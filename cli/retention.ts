import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { RetentionReport } from '../functions/core/policy/runner';
import { addAdminTargetOptions, expectOk, openAdminEndpoint, type AdminEndpoint, type AdminOptions } from './admin-endpoint';
import { CliError } from './errors';
import { printTable } from './io';
import { formatBytes as humanBytes } from './push/progress';

const EXAMPLE = `{
  "rules": [
    { "repositories": "team/app", "keepLast": 10, "keepTags": ["v*", "latest"] },
    { "repositories": "**", "untaggedOlderThanDays": 7, "notPulledForDays": 90 }
  ]
}`;

/** Runs `act` against the target, closing it afterwards. */
export async function withEndpoint<T>(command: Command, act: (endpoint: AdminEndpoint) => Promise<T>, needs: Pick<AdminOptions, 'needsSecretsFor'> = {}): Promise<T> {
  const endpoint = await openAdminEndpoint({ ...command.optsWithGlobals<AdminOptions>(), ...needs });
  try {
    return await act(endpoint);
  } finally {
    await endpoint.close();
  }
}

async function readDocument(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function printReport(report: RetentionReport, where: string): void {
  const verb = report.dryRun ? 'would delete' : 'deleted';
  if (report.deleted.length > 0) {
    printTable(['REPOSITORY', 'TAG', 'DIGEST', 'REASON', 'BYTES'], report.deleted.map((d) => [
      d.repository, d.tag ?? '(untagged)', d.digest, d.reason, humanBytes(d.bytes),
    ]));
  }
  for (const skip of report.skipped) console.log(`skipped ${skip.repository} ${skip.tag ?? skip.digest}: ${skip.why}`);
  console.log(`${where}: ${verb} ${report.tagsDeleted} tag(s) and ${report.manifestsDeleted} manifest(s) in ${report.repositories} repositories, `
    + `freeing ${humanBytes(report.bytesFreed)} once garbage collection runs`
    + (report.dryRun ? ' (dry run: nothing changed; run without --dry-run to apply)' : ''));
}

/** `nimbus retention set|show|run`: retention policies (functions/core/policy/retention.ts). */
export function registerRetentionCommands(program: Command): void {
  const retention = program.command('retention')
    .description('retention policies: which tags and untagged manifests a retention run deletes (rules per repository pattern)')
    .addHelpText('after', `\nA retention document (JSON):\n${EXAMPLE}\n\nThe first rule whose pattern matches a repository governs it. See README "Retention and immutability".`);

  addAdminTargetOptions(retention.command('set <file>'))
    .description('replace the retention document with FILE (JSON; - reads stdin)')
    .addHelpText('after', '\nExamples:\n  npx nimbus retention set retention.json\n  cat retention.json | npx nimbus retention set - --registry http://localhost:5000\n  npx nimbus retention set retention.json --table NimbusTable')
    .action(async (file: string, _options: unknown, command: Command) => {
      const text = await readDocument(file);
      await withEndpoint(command, async (endpoint) => {
        const response = await endpoint.request('PUT', '/v2/_nimbus/retention', { body: text, headers: { 'content-type': 'application/json' } });
        const document = await expectOk<{ rules: unknown[] }>(response, 'setting the retention document');
        console.log(`${endpoint.where}: retention document set (${document.rules.length} rule(s), ETag ${response.headers.get('etag')})`);
      });
    });

  addAdminTargetOptions(retention.command('show'))
    .description('print the retention document')
    .option('--json', 'print the document only, as compact JSON')
    .addHelpText('after', '\nExamples:\n  npx nimbus retention show\n  npx nimbus retention show --json --registry http://localhost:5000')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const document = await expectOk<unknown>(await endpoint.request('GET', '/v2/_nimbus/retention'), 'reading the retention document');
        console.log(options.json ? JSON.stringify(document) : JSON.stringify(document, null, 2));
      });
    });

  addAdminTargetOptions(retention.command('run'))
    .description('apply the retention document now: delete expired tags and untagged manifests (their blobs go at the next garbage collection)')
    .option('--dry-run', 'list what a run would delete and the bytes it would free; change nothing')
    .option('--json', 'print the report as JSON: {deleted:[{repository,tag?,digest,bytes,reason}], bytesFreed, ...}')
    .addHelpText('after', '\nExamples:\n  npx nimbus retention run --dry-run\n  npx nimbus retention run --json --registry http://localhost:5000\n  npx nimbus retention run --dynamodb-local http://127.0.0.1:8000 --table nimbus-dev')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const path = `/v2/_nimbus/retention/run${options.dryRun ? '?dryRun=1' : ''}`;
        const report = await expectOk<RetentionReport>(await endpoint.request('POST', path), 'the retention run');
        if (options.json) console.log(JSON.stringify(report));
        else printReport(report, endpoint.where);
      });
    });
}
