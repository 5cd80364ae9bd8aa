import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Linux reports process times in clock ticks; 100 per second on every mainstream kernel config. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, all threads) a process has used so far, from /proc/<pid>/stat.
 * Server CPU is far less noisy than wall time on a shared 2-core machine. 10 ms resolution.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Peak resident set size (VmHWM) of a running process, in bytes. */
export function processPeakRssBytes(pid: number): number {
  return statusField(pid, 'VmHWM');
}

/** Current resident set size (VmRSS) of a running process, in bytes. */
export function processRssBytes(pid: number): number {
  return statusField(pid, 'VmRSS');
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/**
 * Resets a process's peak RSS (VmHWM) to its current RSS (Linux ≥ 4.0, same user or
 * root), so the next peak read covers only what follows. False when the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** A running process: its pid, parent and command line. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  command: string;
}

/** Every process below `rootPid` (children, grandchildren, ...), from /proc. */
export function descendants(rootPid: number): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      all.push({ pid: Number(name), ppid, command });
    } catch {
      // Exited while we looked.
    }
  }
  const below = new Set([rootPid]);
  const found: ProcessInfo[] = [];
  // Parents have lower pids only until pids wrap: repeat until nothing new is found.
  for (let grew = true; grew;) {
    grew = false;
    for (const info of all) {
      if (below.has(info.ppid) && !below.has(info.pid)) {
        below.add(info.pid);
        found.push(info);
        grew = true;
      }
    }
  }
  return found;
}
