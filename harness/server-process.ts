import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The last `capacity` lines a server printed (stdout and stderr), kept across restarts. */
export class LogBuffer {
  private readonly lines: string[] = [];

  constructor(private readonly capacity = 5000) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  text(last = this.capacity): string {
    return this.lines.slice(-last).join('\n');
  }
}

export interface ServerProcessOptions {
  env: Record<string, string>;
  cwd?: string;
  log: LogBuffer;
}

/** A long-running child (a registry under test) whose output goes to a LogBuffer. */
export class ServerProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(line: string) => void>();
  private stopping = false;

  constructor(readonly name: string, command: string, args: readonly string[], private readonly options: ServerProcessOptions) {
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        options.log.push(line);
        for (const listener of this.listeners) listener(line);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        options.log.push(`[${name}] could not start: ${error.message}`);
        resolve({ code: null, signal: null });
      });
      this.child.on('exit', (code, signal) => {
        // An unexpected exit is often the whole story of a failed test: say so in the log.
        options.log.push(`[${name}] exited (code ${code}, signal ${signal})${this.stopping ? '' : ' without being asked to stop'}`);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the first printed line `match` accepts; rejects if the process exits first. */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      const listener = (line: string) => {
        const value = match(line);
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(this.failure(`did not become ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.listeners.add(listener);
      void this.exited.then(({ code, signal }) => {
        if (!this.listeners.has(listener)) return;
        cleanup();
        reject(this.failure(`exited (code ${code}, signal ${signal}) before it was ready`));
      });
    });
  }

  /** An error that carries the server's recent output. */
  failure(message: string): Error {
    return new Error(`${this.name} ${message}\n--- ${this.name} output (last 40 lines) ---\n${this.options.log.text(40)}`);
  }

  /** SIGKILL at once (kill -9: a crash, no shutdown), resolved once it has exited. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    this.stopping = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    this.stopping = true;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
