import type { Logger, LogLevel } from '../../core/index';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface NodeLogger extends Logger {
  /**
   * A startup announcement ("… listening" with its url): printed at every level, since
   * tools, tests and parent processes learn the port from it. Readiness must never depend
   * on the level an operator picked.
   */
  announce(message: string, fields?: Record<string, unknown>): void;
}

/** JSON lines on stdout, one object per event, at or above `minimum`. */
export function jsonLogger(minimum: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line)): NodeLogger {
  const print = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`);
  };
  return {
    log(level, message, fields) {
      if (LEVELS[level] >= LEVELS[minimum]) print(level, message, fields);
    },
    announce(message, fields) {
      print('info', message, fields);
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
