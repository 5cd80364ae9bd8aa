import type { Command } from 'commander';
import type { Webhook } from '../functions/core/events/ports';
import { addAdminTargetOptions, expectOk } from './admin-endpoint';
import { CliError } from './errors';
import { note, printTable, readStdin } from './io';
import { withEndpoint } from './retention';

const PATH = '/v2/_nimbus/webhooks';

interface DeliveryRow {
  seq: number; event: string; type: string; time: string; repository: string; tag?: string; digest: string; reason?: string;
  webhook: string; state: string; attempts: number; nextAttemptAt: number; lastStatus?: number; lastError?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function headersOf(pairs: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--header takes NAME=VALUE, not "${pair.split('=')[0]}..."`);
    headers[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return headers;
}

function outcome(row: DeliveryRow): string {
  if (row.state === 'pending') return `retry at ${new Date(row.nextAttemptAt).toISOString()}${row.lastError ? ` (${row.lastError})` : ''}`;
  return row.lastStatus !== undefined ? `HTTP ${row.lastStatus}` : (row.lastError ?? '');
}

/** `nimbus webhook add|list|remove|test|deliveries` (README: Webhooks). */
export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook')
    .description('webhooks: signed CloudEvents POSTed on pushes and deletes, retried until delivered (README: Webhooks)');

  addAdminTargetOptions(webhook.command('add <url>'))
    .description('send events of matching repositories to a URL')
    .option('--events <groups>', 'comma list of push, delete, pull (pull needs NIMBUS_WEBHOOK_PULLS on the registry)', 'push,delete')
    .option('--repository <pattern>', 'repository pattern: team/app, team/*, team/**, **', '**')
    .option('--secret-stdin', 'read the signing secret (16+ characters) from stdin; default: a random one, printed once')
    .option('--header <name=value>', 'an extra header sent with each delivery (repeatable); its value is kept secret', collect, [])
    .addHelpText('after', [
      '', 'Examples:',
      "  npx nimbus webhook add https://ci.example.com/hooks/nimbus --events push --repository 'team/**'",
      "  echo \"$SECRET\" | npx nimbus webhook add http://10.0.0.5:8080/deploy --secret-stdin --header 'Authorization=Bearer abc'",
      '', 'URLs resolving to link-local or cloud metadata addresses (169.254.0.0/16, fd00:ec2::254) are refused',
      'unless the registry runs with NIMBUS_WEBHOOK_ADDRESSES=any.',
    ].join('\n'))
    .action(async (url: string, options: { events: string; repository: string; secretStdin?: boolean; header: string[] }, command: Command) => {
      const secret = options.secretStdin ? await readStdin('secret', '--secret-stdin', 'SECRET') : undefined;
      const body = {
        url, events: options.events.split(',').map((part) => part.trim()).filter(Boolean), repositories: options.repository,
        ...(secret === undefined ? {} : { secret }), headers: headersOf(options.header),
      };
      await withEndpoint(command, async (endpoint) => {
        const added = await expectOk<{ webhook: Webhook; secret?: string }>(
          await endpoint.request('POST', PATH, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), 'adding the webhook');
        console.log(`${endpoint.where}: webhook ${added.webhook.id} added: ${added.webhook.events.join(',')} of ${added.webhook.repositories} to ${added.webhook.url}`);
        if (added.secret) console.log(`signing secret (shown once, keep it with the receiver): ${added.secret}`);
      }, { needsSecretsFor: 'webhook add' });
    });

  addAdminTargetOptions(webhook.command('list'))
    .description('list the webhooks (secrets and header values are never shown)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  npx nimbus webhook list\n  npx nimbus webhook list --json --registry http://localhost:5000')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const { webhooks } = await expectOk<{ webhooks: Webhook[] }>(await endpoint.request('GET', PATH), 'listing the webhooks');
        if (options.json) return console.log(JSON.stringify(webhooks));
        if (webhooks.length === 0) return note('no webhooks: npx nimbus webhook add URL');
        printTable(['ID', 'EVENTS', 'REPOSITORIES', 'HEADERS', 'URL'], webhooks.map((hook) => [
          hook.id, hook.events.join(','), hook.repositories, hook.headerNames.join(','), hook.url,
        ]));
      });
    });

  addAdminTargetOptions(webhook.command('remove <id>'))
    .description('remove a webhook (its undelivered events are dead-lettered)')
    .addHelpText('after', '\nExample:\n  npx nimbus webhook remove wh-0123456789ab')
    .action(async (id: string, _options: unknown, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const response = await endpoint.request('DELETE', `${PATH}/${encodeURIComponent(id)}`);
        if (response.status === 404) throw new CliError(`no webhook ${id} (see: npx nimbus webhook list)`);
        if (!response.ok) await expectOk(response, 'removing the webhook');
        console.log(`${endpoint.where}: webhook ${id} removed`);
      }, { needsSecretsFor: 'webhook remove' });
    });

  addAdminTargetOptions(webhook.command('test <id>'))
    .description('send a signed io.nimbus.ping to the webhook now and show how the receiver answered')
    .addHelpText('after', '\nExample:\n  npx nimbus webhook test wh-0123456789ab')
    .action(async (id: string, _options: unknown, command: Command) => {
      await withEndpoint(command, async (endpoint) => {
        const response = await endpoint.request('POST', `${PATH}/${encodeURIComponent(id)}/ping`);
        if (response.status === 404) throw new CliError(`no webhook ${id} (see: npx nimbus webhook list)`);
        const result = await expectOk<{ ok: boolean; status?: number; error?: string; durationMs: number }>(response, 'pinging the webhook');
        const answer = result.status !== undefined ? `HTTP ${result.status}` : result.error;
        console.log(`${result.ok ? 'delivered' : 'failed'}: ${answer} in ${result.durationMs} ms`);
        if (!result.ok) process.exitCode = 1;
      }, { needsSecretsFor: 'webhook test' });
    });

  addAdminTargetOptions(webhook.command('deliveries'))
    .description('the latest deliveries, newest first, with their state (pending, delivered, dead)')
    .option('--webhook <id>', 'only this webhook')
    .option('--state <state>', 'only pending, delivered or dead (the dead letters)')
    .option('--limit <n>', 'how many (1-1000)', '50')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  npx nimbus webhook deliveries\n  npx nimbus webhook deliveries --state dead --json')
    .action(async (options: { webhook?: string; state?: string; limit: string; json?: boolean }, command: Command) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.webhook) query.set('webhook', options.webhook);
      if (options.state) query.set('state', options.state);
      await withEndpoint(command, async (endpoint) => {
        const { deliveries } = await expectOk<{ deliveries: DeliveryRow[] }>(await endpoint.request('GET', `${PATH}/deliveries?${query}`), 'listing deliveries');
        if (options.json) return console.log(JSON.stringify(deliveries));
        if (deliveries.length === 0) return note('no deliveries yet');
        printTable(['SEQ', 'WEBHOOK', 'STATE', 'TRIES', 'TYPE', 'REPOSITORY', 'TAG/DIGEST', 'RESULT'], deliveries.map((row) => [
          String(row.seq), row.webhook, row.state, String(row.attempts), row.type.replace(/^io\.nimbus\./, ''), row.repository,
          row.tag ?? row.digest.slice(0, 19), outcome(row),
        ]));
      });
    });
}
