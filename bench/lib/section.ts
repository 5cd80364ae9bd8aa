/** What every bench section implements, and what it hands back to the runner. */

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
}

export interface SectionOutput {
  /** Rendered into results markdown, the printed summary and the README. */
  tables: Table[];
  /** Caveats a reader needs to read the figures right. */
  notes: string[];
  /** Everything measured, raw, for the JSON results and the goals. */
  data: Record<string, unknown>;
}

export interface BenchContext {
  /** Repetitions per measurement (--runs). */
  readonly runs: number;
  readonly repoRoot: string;
  /** A fresh temporary directory, removed when the bench ends. */
  tmp(prefix: string): Promise<string>;
  /** Progress line on stderr. */
  log(message: string): void;
  /**
   * A resource several sections use (the AWS emulators), started on first use and stopped
   * when the bench ends.
   */
  shared<T>(key: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): Promise<T>;
}

export interface Section {
  /** Name for --only. */
  readonly id: string;
  readonly title: string;
  /** One line for --help. */
  readonly summary: string;
  run(ctx: BenchContext): Promise<SectionOutput>;
}

/** Thrown when a prerequisite is missing: the section is reported "not available: <reason>". */
export class NotAvailable extends Error {}

/** Runs `attempt`, turning a failure into NotAvailable with the reason, for optional parts. */
export async function availability<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    throw new NotAvailable(`${what}: ${firstLine(error)}`);
  }
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 300);
}
