import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loggedUrl, type NodeLogger } from '../adapters/node/logger';
import { freePort } from './free-port';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The container's entry, or the Lambda web function's (told where to listen by AWS_LAMBDA_HTTP_ENDPOINT). */
const ENTRIES = { task: 'functions/upload-server/main.ts', 'web-function': 'functions/upload-server/web-function.ts' } as const;
export type DevUploadEndpointKind = keyof typeof ENTRIES;
const LISTENING = 'nimbus upload endpoint listening';
const STARTED = 'upload endpoint started';
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;
/** fauxqs refuses request bodies over 11 MiB, so parts here are 8 MiB (16 MiB on S3). */
const EMULATOR_PART_SIZE_MIB = '8';

export interface DevUploadEndpoint {
  /** http://127.0.0.1:PORT: the origin upload Locations point at. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The upload endpoint beside the API Gateway stand-in, as a separate process (as on ECS or
 * in a Lambda web function: its own memory, its own crashes): functions/upload-server/main.ts
 * (or web-function.ts) with the environment the function gets. Its output joins dev:aws's.
 * When it dies unasked, it is started again on the same port, as ECS replaces a stopped
 * task, so uploads it was serving can resume.
 */
export async function startDevUploadEndpoint(
  env: NodeJS.ProcessEnv, host: string, logger: NodeLogger, kind: DevUploadEndpointKind = 'task',
): Promise<DevUploadEndpoint> {
  let closing = false;
  let child: ChildProcess | undefined;

  const launch = async (port: number): Promise<string> => {
    const listenOn = kind === 'task'
      ? { HOST: host, PORT: String(port) }
      : { AWS_LAMBDA_HTTP_ENDPOINT: `${host.includes(':') ? `[${host}]` : host}:${port || await freePort(host)}` };
    const started = spawn(process.execPath, ['--import', 'tsx', ENTRIES[kind]], {
      cwd: REPO_ROOT, env: { NIMBUS_PART_SIZE_MIB: EMULATOR_PART_SIZE_MIB, ...env, ...listenOn }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let resolveUrl: (url: string) => void;
    const listening = new Promise<string>((resolve) => (resolveUrl = resolve));
    createInterface({ input: started.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      const url = loggedUrl(line, LISTENING);
      if (url) resolveUrl(url);
    });
    createInterface({ input: started.stderr!, crlfDelay: Infinity }).on('line', (line) => process.stderr.write(`${line}\n`));
    const exited = new Promise<string>((_, reject) => started.once('exit', (code, signal) => {
      reject(new Error(`the upload endpoint exited (code ${code}, signal ${signal}) before it was listening`));
    }));
    exited.catch(() => undefined);
    const timeout = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the upload endpoint did not start within 60 s')), START_TIMEOUT_MS).unref());
    try {
      const url = await Promise.race([listening, exited, timeout]);
      // Announced at every level: tools and tests follow the endpoint's restarts by this line.
      logger.announce(STARTED, { url, pid: started.pid, kind });
      started.once('exit', (code, signal) => {
        if (closing) return;
        logger.log('warn', 'upload endpoint exited; starting it again on the same port', { pid: started.pid, code, signal });
        setTimeout(() => void launch(Number(new URL(url).port)).catch((error: unknown) => logger.log('error', 'could not restart the upload endpoint', { error: String(error) })), 200);
      });
      return url;
    } catch (error) {
      started.kill('SIGKILL');
      throw error;
    }
  };

  const url = await launch(0);
  return {
    url,
    async close() {
      closing = true;
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      const kill = setTimeout(() => current.kill('SIGKILL'), STOP_GRACE_MS);
      current.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
}

/** The endpoint's URL and pid from dev:aws's "upload endpoint started" line (tests and bench follow restarts by it). */
export function uploadEndpointStarted(line: string): { url: string; pid: number } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown; pid?: unknown };
    return entry.msg === STARTED && typeof entry.url === 'string' && typeof entry.pid === 'number' ? { url: entry.url, pid: entry.pid } : undefined;
  } catch {
    return undefined;
  }
}
