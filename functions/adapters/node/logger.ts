import type { Logger, LogLevel } from '../../core/index';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON lines on stdout, one object per event, at or above `minimum`. */
export function jsonLogger(minimum: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return {
    log(level, message, fields) {
      if (LEVELS[level] < LEVELS[minimum]) return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
    },
  };
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

/** The fields of a JSON log line whose message is `message`; undefined for any other line. */
export function readLogLine(line: string, message: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    return entry.msg === message ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** The `url` a server announced in its `message` log line (how tests and tools find its port). */
export function loggedUrl(line: string, message: string): string | undefined {
  const url = readLogLine(line, message)?.url;
  return typeof url === 'string' ? url : undefined;
}
