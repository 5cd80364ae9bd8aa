import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NIMBUS_BIN = fileURLToPath(new URL('../../bin/nimbus.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Feeds `input` to a child (a string, or a file streamed in) and collects its output. */
export function collect(child: ChildProcessWithoutNullStreams, input: string | { file: string } = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // The CLI may exit before reading all of stdin (an early error): that is not a test failure.
    child.stdin.on('error', () => {});
    if (typeof input === 'object') createReadStream(input.file).pipe(child.stdin);
    else child.stdin.end(input);
  });
}

/**
 * Runs `nimbus ...args` as a user would. HOME and DOCKER_CONFIG point nowhere unless `env`
 * says otherwise, so the developer's own logins and AWS profiles never leak into a test.
 */
export function runNimbus(args: string[], options: { env?: Record<string, string | undefined>; input?: string | { file: string }; cwd?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, [NIMBUS_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: '/nonexistent', DOCKER_CONFIG: '/nonexistent', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child, options.input);
}
