/**
 * `npm run bench`: runs the bench sections in order, records each one's results (or why it
 * is not available), evaluates the issue's goals and writes bench/results/.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { helpText, parseOptions } from './lib/cli';
import { evaluateGoals } from './lib/goals';
import { machineInfo } from './lib/machine';
import { renderReadmeFigures } from './lib/readme-figures';
import { renderResults, renderTable, goalsTable, type BenchResults, type SectionResult } from './lib/report';
import { firstLine, NotAvailable, type BenchContext } from './lib/section';
import { SECTIONS } from './sections/index';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const README_START = '<!-- bench:figures:start -->';
const README_END = '<!-- bench:figures:end -->';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), SECTIONS);
  if (options.help) {
    console.log(helpText(SECTIONS));
    return;
  }
  const cleanups: (() => Promise<void>)[] = [];
  const sharedValues = new Map<string, Promise<unknown>>();
  const ctx: BenchContext = {
    runs: options.runs,
    repoRoot: REPO_ROOT,
    async tmp(prefix) {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
    log: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
    shared<T>(key: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): Promise<T> {
      let value = sharedValues.get(key) as Promise<T> | undefined;
      if (!value) {
        value = start();
        sharedValues.set(key, value);
        cleanups.push(async () => stop(await value!));
        value.catch(() => undefined);
      }
      return value;
    },
  };
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => ctx.log(`cleanup: ${firstLine(error)}`));
  })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      ctx.log(`${signal}: stopping the servers this bench started, removing its temporary files`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const machine = machineInfo(REPO_ROOT);
  const sections: SectionResult[] = [];
  try {
    for (const section of SECTIONS.filter((s) => options.only.includes(s.id))) {
      ctx.log(`section ${section.id}: ${section.title}`);
      const started = performance.now();
      try {
        const output = await section.run(ctx);
        sections.push({ id: section.id, title: section.title, status: 'ok', durationMs: performance.now() - started, ...output });
      } catch (error) {
        const status = error instanceof NotAvailable ? 'not available' : 'failed';
        const reason = error instanceof NotAvailable ? error.message : firstLine(error);
        if (status === 'failed') ctx.log(`section ${section.id} failed:\n${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        sections.push({ id: section.id, title: section.title, status, reason, durationMs: performance.now() - started });
      }
      ctx.log(`section ${section.id}: ${sections.at(-1)!.status}`);
    }
  } finally {
    await cleanup();
  }

  const results: BenchResults = { machine, options: { runs: options.runs, only: options.only }, goals: evaluateGoals(sections), sections };
  const out = resolve(REPO_ROOT, options.out);
  await mkdir(out, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  const markdown = renderResults(results);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await Promise.all([
    writeFile(join(out, `${stamp}.md`), markdown), writeFile(join(out, `${stamp}.json`), json),
    writeFile(join(out, 'latest.md'), markdown), writeFile(join(out, 'latest.json'), json),
  ]);
  if (options.readme) await updateReadme(results);
  printSummary(results, join(out, `${stamp}.md`));
}

function printSummary(results: BenchResults, path: string): void {
  const lines = ['', renderTable(goalsTable(results.goals)), ''];
  for (const section of results.sections) {
    lines.push(`${section.id.padEnd(10)} ${section.status}${section.reason ? `: ${section.reason}` : ''}`);
  }
  lines.push('', `Every table: ${path}`);
  console.log(lines.join('\n'));
}

/**
 * Replaces only the figures between the bench markers in README.md (the rest of the README
 * is not ours); sections this run did not measure keep their earlier figures.
 */
async function updateReadme(results: BenchResults): Promise<void> {
  const path = join(REPO_ROOT, 'README.md');
  const readme = await readFile(path, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start === -1 || end < start) throw new Error(`README.md has no ${README_START} … ${README_END} markers`);
  const figures = renderReadmeFigures(results, SECTIONS.map((section) => section.id), readme.slice(start + README_START.length, end));
  await writeFile(path, `${readme.slice(0, start + README_START.length)}\n${figures}\n${readme.slice(end)}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
