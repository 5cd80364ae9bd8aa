import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  /** The whole environment of the child: nothing is inherited unless listed here. */
  env: Record<string, string>;
  cwd?: string;
  /** Killed (SIGKILL) after this long. @default 120 s */
  timeoutMs?: number;
  /** How to show the command in errors, when the real command line is a wrapper. */
  label?: string;
  /** Written to the child's stdin (a password for --password-stdin); stdin is closed otherwise. */
  input?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A command that failed, with what it printed: the first thing to read when a test fails. */
export class CommandFailedError extends Error {
  constructor(readonly commandLine: string, readonly outcome: string, readonly stdout: string, readonly stderr: string) {
    super([
      `${commandLine}\n  ${outcome}`,
      section('stderr', stderr, 60),
      section('stdout', stdout, 20),
    ].filter(Boolean).join('\n'));
    this.name = 'CommandFailedError';
  }
}

function section(name: string, text: string, lines: number): string {
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `--- ${name} (last ${lines} lines) ---\n${tail}` : '';
}

export function shellQuote(words: readonly string[]): string {
  return words.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const MAX_CAPTURE = 4 * 1024 * 1024;

/** Runs a command to completion; throws CommandFailedError unless it exits 0. */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const commandLine = options.label ?? shellQuote([command, ...args]);
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: 'pipe' });
    // A child that exits without reading stdin makes the write fail (EPIPE): its exit status says more.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
    let stdout = '';
    let stderr = '';
    // Keep the tail: it holds the error; progress output before it can be long.
    child.stdout.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-MAX_CAPTURE)));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-MAX_CAPTURE)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CommandFailedError(commandLine, `could not start: ${error.message}`, stdout, stderr));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const outcome = timedOut ? `timed out after ${timeoutMs / 1000} s and was killed` : signal ? `killed by ${signal}` : `exited with code ${code}`;
      reject(new CommandFailedError(commandLine, outcome, stdout, stderr));
    });
  });
}

/**
 * Finds `binary` on PATH or throws, naming the Debian package that provides it: a test
 * never skips for a missing tool, it tells you what to install.
 */
export function requireTool(binary: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${binary} is not installed (not on PATH). Install the Debian package: apt-get install -y ${debianPackage}`);
}

/** A minimal environment for a client: PATH and locale from us, everything else explicit. */
export function clientEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...extra };
}
