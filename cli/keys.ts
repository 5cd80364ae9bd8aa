import type { Command } from 'commander';
import { loadOrCreateKeySet, rotateKeyFile } from '../functions/adapters/fs/key-file';
import { CliError } from './errors';
import { note } from './io';
import { localDataDir } from './target';
import { targetOf } from './users';

/** `nimbus keys ...`: the local token signing keys (a deployed stack keeps its key in Secrets Manager). */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('token signing keys of a local registry');
  keys.command('list').description('key ids (kid): the first signs, all verify')
    .action(async (_options: unknown, command: Command) => {
      const keySet = await loadOrCreateKeySet(localOnly(command));
      for (const [i, kid] of keySet.kids.entries()) console.log(`${kid}  ${i === 0 ? 'signing' : 'verify only'}`);
    });
  keys.command('rotate')
    .description('make a new signing key; the previous one keeps verifying until its tokens expire')
    .action(async (_options: unknown, command: Command) => {
      const keySet = await rotateKeyFile(localOnly(command));
      console.log(`new signing key ${keySet.signing.kid}`);
      note('restart the registry (npm start) to sign with it');
    });
}

function localOnly(command: Command): string {
  const dataDir = localDataDir(targetOf(command));
  if (!dataDir) throw new CliError('a deployed stack keeps its signing key in Secrets Manager: rotate that secret instead');
  return dataDir;
}
