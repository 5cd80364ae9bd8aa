import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { createHash, randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { processCpuMs } from './proc';

const CHUNK = 1024 * 1024;
const random = randomBytes(CHUNK);

/** Wall time of sha256 over `size` bytes, in 1 MiB updates, with node:crypto (OpenSSL). */
export function timeSha256(size: number): number {
  const started = performance.now();
  const hash = createHash('sha256');
  for (let left = size; left > 0; left -= CHUNK) hash.update(left >= CHUNK ? random : random.subarray(0, left));
  hash.digest();
  return performance.now() - started;
}

/** Wall time to write `size` bytes to a new file in `dir` in 1 MiB writes, fsync and close it. */
export async function timeWriteFsync(dir: string, size: number): Promise<number> {
  const path = join(dir, `floor-${process.pid}-${Date.now()}`);
  const started = performance.now();
  const file = await open(path, 'w');
  try {
    for (let at = 0; at < size; at += CHUNK) await file.write(random, 0, Math.min(CHUNK, size - at), at);
    await file.sync();
  } finally {
    await file.close();
  }
  const ms = performance.now() - started;
  await rm(path, { force: true });
  return ms;
}

export interface HttpSink {
  /** Wall time to PUT `size` bytes and get the answer, plus the receiver's CPU for it. */
  send(size: number): Promise<{ ms: number; cpuMs: number }>;
  stop(): Promise<void>;
}

/** Starts the discard server (workers/http-sink.ts) in a child process. */
export async function startHttpSink(repoRoot: string): Promise<HttpSink> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/workers/http-sink.ts'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /sink-port=(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`http sink exited (${code}) before listening`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const pid = child.pid!;
  return {
    async send(size) {
      const cpuBefore = processCpuMs(pid);
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/', agent, headers: { 'content-length': String(size) } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        let left = size;
        const pump = () => {
          while (left > 0) {
            const piece = left >= CHUNK ? random : random.subarray(0, left);
            left -= piece.byteLength;
            if (!req.write(piece)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      return { ms: performance.now() - started, cpuMs: processCpuMs(pid) - cpuBefore };
    },
    async stop() {
      agent.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface MinimalReceiver {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts workers/minimal-receiver.ts (hash + write + fsync, nothing else) on data in `dir`,
 * as plain JavaScript (esbuild, beside its data) run by node alone, as `npm start` runs
 * Nimbus: no TypeScript loader in the process to add to its CPU or memory.
 */
export async function startMinimalReceiver(repoRoot: string, dir: string): Promise<MinimalReceiver> {
  const script = join(dir, '.minimal-receiver.mjs');
  await build({
    absWorkingDir: repoRoot, entryPoints: ['bench/workers/minimal-receiver.ts'], outfile: script,
    bundle: true, platform: 'node', format: 'esm', target: 'node22', logLevel: 'warning',
  });
  const child = spawn(process.execPath, [script, dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /receiver-port=(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`minimal receiver exited (${code}) before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
