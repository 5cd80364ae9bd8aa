import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../../harness/clients/process';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { processCpuMs, processPeakRssBytes } from './proc';
import { freePort, waitForHttp } from '../../harness/net';
import { loggedUrl } from '../../functions/adapters/node/logger';

/** A registry process under measurement, on an ephemeral port with a private data directory. */
export interface RegistryServer {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT, for image references. */
  readonly host: string;
  readonly pid: number;
  /** CPU the server process has used since it started. */
  cpuMs(): number;
  /** Its peak resident set size so far. */
  peakRssBytes(): number;
  logs(): string;
  /** Stops the process and removes its data. */
  stop(): Promise<void>;
}

export type RegistryKind = 'nimbus' | 'distribution';

export const REGISTRY_LABELS: Record<RegistryKind, string> = {
  nimbus: 'Nimbus (npm start)',
  distribution: 'registry:2 (distribution 2.8.2)',
};

export function startRegistry(kind: RegistryKind, repoRoot: string): Promise<RegistryServer> {
  return kind === 'nimbus' ? startNimbus(repoRoot) : startDistribution();
}

/**
 * `npm start`'s exact command line, read from package.json so the bench never drifts from
 * it (node flags such as --max-semi-space-size included), with `node` as this Node. Steps
 * before the last (`node tools/build/server.mjs && exec node ...`: the bundle it runs) are
 * run here, once per bench; the last one is the server.
 */
export function npmStartCommand(repoRoot: string): { command: string; args: string[] } {
  const scripts = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const steps = (scripts.start ?? '').split('&&').map((step) => step.trim().replace(/^exec\s+/, '').split(/\s+/));
  for (const [program] of steps) {
    if (program !== 'node') throw new Error(`package.json "start" has a step that does not run node: ${scripts.start}`);
  }
  if (!preparedStart.has(repoRoot)) {
    for (const [, ...args] of steps.slice(0, -1)) execFileSync(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    preparedStart.add(repoRoot);
  }
  return { command: process.execPath, args: steps.at(-1)!.slice(1) };
}

const preparedStart = new Set<string>();

/** Nimbus as `npm start` runs it, with its defaults (fsync on, info logs), on port 0. */
export async function startNimbus(repoRoot: string): Promise<RegistryServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nimbus-bench-data-'));
  const log = new LogBuffer(500);
  const { command, args } = npmStartCommand(repoRoot);
  const server = new ServerProcess('nimbus (npm start)', command, args, {
    cwd: repoRoot,
    log,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', NIMBUS_DATA_DIR: dataDir },
  });
  const cleanup = async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  const url = await server.waitForLine((line) => loggedUrl(line, 'nimbus registry listening')).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  return describe('nimbus', url, server, log, cleanup);
}

/**
 * CNCF distribution (Debian's docker-registry 2.8.2) with the configuration the registry:2
 * image ships (filesystem storage, in-memory blob descriptor cache), on a free port.
 */
export async function startDistribution(): Promise<RegistryServer> {
  const binary = requireTool('docker-registry', 'docker-registry');
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-bench-distribution-'));
  const port = await freePort();
  const configPath = join(dir, 'config.yml');
  // JSON is YAML. Same settings as /etc/docker/registry/config.yml in the registry:2 image.
  await writeFile(configPath, JSON.stringify({
    version: 0.1,
    log: { fields: { service: 'registry' } },
    storage: { cache: { blobdescriptor: 'inmemory' }, filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, headers: { 'X-Content-Type-Options': ['nosniff'] } },
    health: { storagedriver: { enabled: true, interval: '10s', threshold: 3 } },
  }));
  const log = new LogBuffer(500);
  // Only PATH: distribution reads every REGISTRY_* variable (REGISTRY_AUTH_FILE too) as configuration.
  const server = new ServerProcess('docker-registry', binary, ['serve', configPath], { log, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  await waitForHttp(`${url}/v2/`, server).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  return describe('distribution', url, server, log, cleanup);
}

function describe(name: string, url: string, server: ServerProcess, log: LogBuffer, stop: () => Promise<void>): RegistryServer {
  const pid = server.pid;
  if (pid === undefined) throw new Error(`${name} has no pid`);
  return {
    name,
    url,
    host: new URL(url).host,
    pid,
    cpuMs: () => processCpuMs(pid),
    peakRssBytes: () => processPeakRssBytes(pid),
    logs: () => log.text(40),
    stop,
  };
}



