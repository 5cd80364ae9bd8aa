import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loggedUrl, type NodeLogger } from '../adapters/node/logger';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = 'functions/upload-server/main.ts';
const LISTENING = 'nimbus upload endpoint listening';
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
 * The upload endpoint beside the API Gateway stand-in, as a separate process (as on ECS:
 * its own memory, its own crashes): functions/upload-server/main.ts with the environment
 * the function gets. Its output joins dev:aws's. When it dies unasked, it is started
 * again on the same port, as ECS replaces a stopped task, so uploads it was serving can
 * resume.
 */
export async function startDevUploadEndpoint(env: NodeJS.ProcessEnv, host: string, logger: NodeLogger): Promise<DevUploadEndpoint> {
  let closing = false;
  let child: ChildProcess | undefined;

  const launch = async (port: number): Promise<string> => {
    const started = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      cwd: REPO_ROOT, env: { NIMBUS_PART_SIZE_MIB: EMULATOR_PART_SIZE_MIB, ...env, HOST: host, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
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
      logger.announce('upload endpoint started', { url, pid: started.pid });
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

