import { Command, CommanderError } from 'commander';
import { GrantSyntaxError } from '../functions/auth/grants';
import { NameError, PrincipalExistsError } from '../functions/auth/identity-store';
import { RuleSyntaxError } from '../functions/auth/claim-rules';
import { registerDoctorCommand } from './doctor/command';
import { CliError } from './errors';
import { registerGcCommand } from './gc';
import { registerGrantCommands } from './grants';
import { registerKeyCommands } from './keys';
import { registerOidcCommands } from './oidc';
import { registerImmutabilityCommands } from './immutability';
import { registerCacheCommands } from './cache';
import { registerPushCommand } from './push';
import { registerRetentionCommands } from './retention';
import { addTargetOptions } from './target';
import { registerTlsCommands } from './tls';
import { registerPrincipalCommands } from './users';
import { registerWebhookCommands } from './webhooks';

/**
 * `npx nimbus`: administers a Nimbus registry, local (its data dir) or deployed (its table),
 * and pushes images straight to its storage (`nimbus push`).
 * Each command group registers itself from its own file.
 */
export function buildProgram(): Command {
  const program = new Command('nimbus')
    .description('Administer a Nimbus registry (users, robots, grants, CI federation, signing keys, retention, immutable tags, webhooks, pull-through cache rules) and push images straight to its storage.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addTargetOptions(program);
  registerPrincipalCommands(program);
  registerGrantCommands(program);
  registerOidcCommands(program);
  registerKeyCommands(program);
  registerPushCommand(program);
  registerDoctorCommand(program);
  registerGcCommand(program);
  registerRetentionCommands(program);
  registerImmutabilityCommands(program);
  registerWebhookCommands(program);
  registerCacheCommands(program);
  registerTlsCommands(program);
  program.addHelpText('after', [
    '',
    'Turn auth on for npm start with NIMBUS_AUTH=on, then for example:',
    '  echo "$PASSWORD" | npx nimbus user add alice --password-stdin',
    "  npx nimbus grant alice 'alice/*' pull,push",
    '  docker login localhost:5000 -u alice',
  ].join('\n'));
  return program;
}

const USER_ERRORS = [CliError, GrantSyntaxError, NameError, PrincipalExistsError, RuleSyntaxError];

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (USER_ERRORS.some((type) => error instanceof type)) {
      console.error(`nimbus: ${(error as Error).message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

await main();
