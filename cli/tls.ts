import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from './errors';
import type { Authority } from './tls-certificates';

interface TlsInitOptions {
  host: string;
  ip: string[];
  out?: string;
  days: string;
  port: string;
}

const CA_DAYS = 3650;

/** `nimbus tls init`: a private CA and a server certificate for `npm start` with NIMBUS_TLS_CERT/KEY. */
export function registerTlsCommands(program: Command): void {
  const tls = program.command('tls').description('TLS for a local registry (npm start): a private CA and server certificates');
  tls.command('init')
    .description('create a private CA (or reuse the one in --out) and a server certificate for --host and each --ip; print the steps for clients')
    .requiredOption('--host <name>', 'DNS name clients use to reach the registry (the certificate\'s first name)')
    .option('--ip <address>', 'IP address clients may also use (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--out <dir>', 'where to write ca.crt, server.crt, server.key (default: $NIMBUS_DATA_DIR/tls, or ./data/tls)')
    .option('--days <n>', 'days the server certificate is valid', '825')
    .option('--port <n>', 'port clients use, for the printed client steps (default: $PORT or 5000)', process.env.PORT || '5000')
    .action((options: TlsInitOptions) => tlsInit(options));
}

async function tlsInit(options: TlsInitOptions): Promise<void> {
  const days = Number(options.days);
  if (!Number.isInteger(days) || days < 1 || days > CA_DAYS) throw new CliError(`--days must be a whole number from 1 to ${CA_DAYS}, not "${options.days}"`);
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(options.host) || isIP(options.host)) {
    throw new CliError(`--host must be a DNS name (letters, digits, "-" and "."), not "${options.host}"; give addresses with --ip`);
  }
  for (const ip of options.ip) if (!isIP(ip)) throw new CliError(`--ip must be an IPv4 or IPv6 address, not "${ip}"`);
  const out = resolve(options.out ?? join(process.env.NIMBUS_DATA_DIR || './data', 'tls'));
  // The CA key lives apart from ca.crt: a directory given to --cert-dir must hold no stray *.key.
  await mkdir(join(out, 'ca-private'), { recursive: true, mode: 0o700 });
  const { authority, created } = await authorityIn(out);
  const { issueServerCertificate } = await import('./tls-certificates');
  const server = await issueServerCertificate(authority, { dns: [options.host], ips: options.ip }, days);
  await writeFile(join(out, 'server.crt'), server.certificatePem);
  await writePrivate(join(out, 'server.key'), server.keyPem);
  console.log(clientSteps(out, options, created));
}

/** The CA already in `out` (so clients that trust it keep working), or a new one. */
async function authorityIn(out: string): Promise<{ authority: Authority; created: boolean }> {
  // The x509 library is loaded only by `tls init`, so other commands start without it.
  const { authorityPem, createAuthority, loadAuthority } = await import('./tls-certificates');
  const [certificatePem, keyPem] = await Promise.all([
    readFile(join(out, 'ca.crt'), 'utf8').catch(() => undefined),
    readFile(join(out, 'ca-private', 'ca.key'), 'utf8').catch(() => undefined),
  ]);
  if (certificatePem && keyPem) return { authority: await loadAuthority(certificatePem, keyPem), created: false };
  const authority = await createAuthority('Nimbus private registry CA', CA_DAYS);
  const pem = await authorityPem(authority);
  await writeFile(join(out, 'ca.crt'), pem.certificatePem);
  await writePrivate(join(out, 'ca-private', 'ca.key'), pem.keyPem);
  return { authority, created: true };
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  // The mode applies only when the file is created: an older file keeps its own otherwise.
  await chmod(path, 0o600);
}

function clientSteps(out: string, options: TlsInitOptions, created: boolean): string {
  const hosts = [options.host, ...options.ip.map((ip) => (isIP(ip) === 6 ? `[${ip}]` : ip))];
  const ca = join(out, 'ca.crt');
  const perHost = (root: string) => hosts.map((h) => `  sudo mkdir -p ${root}/${h}:${options.port} && sudo cp ${ca} ${root}/${h}:${options.port}/ca.crt`);
  return [
    `${created ? 'created a private CA' : 'reused the private CA'} ${ca} (its key: ${join(out, 'ca-private', 'ca.key')}, mode 0600)`,
    `wrote ${join(out, 'server.crt')} and ${join(out, 'server.key')} (mode 0600) for ${hosts.join(', ')}`,
    '',
    'Start the registry with TLS (HOST=0.0.0.0 to serve other machines; kill -HUP reloads the files):',
    `  NIMBUS_TLS_CERT=${join(out, 'server.crt')} NIMBUS_TLS_KEY=${join(out, 'server.key')} PORT=${options.port} npm start`,
    '',
    'docker (on every machine that pushes or pulls; no restart needed):',
    ...perHost('/etc/docker/certs.d'),
    '',
    'podman, skopeo, buildah (system-wide; ~/.config/containers/certs.d for one user):',
    ...perHost('/etc/containers/certs.d'),
    '  or per command, with a directory that holds ca.crt and no other *.key or *.cert files:',
    `  mkdir -p ~/nimbus-ca && cp ${ca} ~/nimbus-ca/ && skopeo inspect --cert-dir ~/nimbus-ca docker://${hosts[0]}:${options.port}/REPO:TAG`,
    '',
    'The system trust store (curl, nimbus doctor, other tools):',
    `  Debian/Ubuntu: sudo cp ${ca} /usr/local/share/ca-certificates/nimbus-registry.crt && sudo update-ca-certificates`,
    `  Fedora/RHEL:   sudo cp ${ca} /etc/pki/ca-trust/source/anchors/nimbus-registry.crt && sudo update-ca-trust`,
  ].join('\n');
}
