import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { IdentityStore } from '../functions/auth/identity-store';
import { CliError } from './errors';
import { note } from './io';

/**
 * Where the CLI's commands act: the local data dir `npm start` uses (NIMBUS_DATA_DIR,
 * default ./data), a deployed stack's table (--table, or --stack to read it from the
 * stack's outputs), or the table of `npm run dev:aws` in DynamoDB Local (--dynamodb-local
 * and --table, as its startup log prints them).
 */
export interface TargetOptions {
  dataDir?: string;
  table?: string;
  stack?: string;
  region?: string;
  dynamodbLocal?: string;
}

export function addTargetOptions(program: Command): Command {
  return program
    .option('--data-dir <dir>', 'local data directory, as used by npm start (default: $NIMBUS_DATA_DIR or ./data)')
    .option('--table <name>', 'DynamoDB table of a deployed stack')
    .option('--stack <name>', 'deployed CloudFormation stack; its outputs name the table')
    .option('--region <region>', 'AWS region of the deployed stack (default: $AWS_REGION)')
    .option('--dynamodb-local <url>', 'DynamoDB Local endpoint of npm run dev:aws (with --table; no AWS credentials needed)');
}

export function localDataDir(options: TargetOptions): string | undefined {
  if (options.table || options.stack || options.dynamodbLocal) return undefined;
  return resolve(options.dataDir ?? (process.env.NIMBUS_DATA_DIR || './data'));
}

/** The identity store to act on; `forWrite` creates a missing local data dir (and says so). */
export async function openIdentityStore(options: TargetOptions, forWrite: boolean): Promise<IdentityStore> {
  const dataDir = localDataDir(options);
  if (dataDir === undefined) return (await import('./deployed')).openDeployedIdentityStore(options);
  if (!existsSync(dataDir)) {
    if (!forWrite) throw new CliError(`no data directory at ${dataDir}: point --data-dir or NIMBUS_DATA_DIR at the one npm start uses`);
    note(`nimbus: creating data directory ${dataDir}`);
  }
  const { FsIdentityStore } = await import('../functions/adapters/fs/identity-store');
  return new FsIdentityStore(dataDir);
}
