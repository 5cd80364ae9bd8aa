/** Starts `npm start`'s entry as a child process, for tests of the local server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loggedUrl } from '../../functions/adapters/node/logger';
import { serverEntry } from '../support/server-entry';

export const ROOT = join(import.meta.dirname, '../..');

export interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts the `npm start` entry and waits for its "listening" log line. */
export function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, serverEntry(), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = output.split('\n').map((l) => loggedUrl(l, 'nimbus registry listening')).find(Boolean);
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

export function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

