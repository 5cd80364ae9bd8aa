import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  date: string;
  nproc: number;
  cpuModel: string;
  ramGiB: number;
  node: string;
  kernel: string;
  /** The commit the bench ran on, and whether the tree had changes. */
  commit: string;
}

export function machineInfo(repoRoot: string): MachineInfo {
  return {
    date: new Date().toISOString(),
    nproc: Number(tryRun('nproc', []) || cpus().length),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: tryRun('uname', ['-r']) || 'unknown',
    commit: describeCommit(repoRoot),
  };
}

function describeCommit(repoRoot: string): string {
  const head = tryRun('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  if (!head) return 'unknown';
  const dirty = tryRun('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${head} + uncommitted changes` : head;
}

function tryRun(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function describeMachine(machine: MachineInfo): string {
  return `${machine.nproc} cores (${machine.cpuModel}), ${machine.ramGiB} GiB RAM, Linux ${machine.kernel}, Node ${machine.node}`;
}
