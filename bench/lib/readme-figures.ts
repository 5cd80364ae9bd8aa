import type { Goal } from './goals';
import { describeMachine } from './machine';
import { goalsTable, renderTable, type BenchResults } from './report';

/**
 * The README's figures: the goals and each section's first table (the rest is in
 * bench/results/). Each section's figures sit between markers that record the run they
 * come from, so a run of some sections (--only) replaces theirs and keeps the others',
 * labelled with their older run; goals of sections not run keep their earlier rows too.
 */

const GOALS_TITLE = `**${goalsTable([]).title}**`;
const EARLIER = '_Figures from an earlier run:';

interface Block {
  /** "2026-11-24, 5 runs per measurement, commit abc1234" */
  run: string;
  body: string;
}

const startMarker = (id: string, run: string) => `<!-- bench:section:${id} run="${run}" -->`;
const endMarker = (id: string) => `<!-- /bench:section:${id} -->`;

/** Section blocks found in earlier figures, by section id. */
function parseBlocks(figures: string): Map<string, Block> {
  const blocks = new Map<string, Block>();
  for (const match of figures.matchAll(/<!-- bench:section:([\w-]+) run="([^"]*)" -->\n([\s\S]*?)\n<!-- \/bench:section:\1 -->/g)) {
    const body = match[3]!.split('\n').filter((line) => !line.startsWith(EARLIER)).join('\n').trim();
    blocks.set(match[1]!, { run: match[2]!, body });
  }
  return blocks;
}

/** Rows of the earlier goals table, verbatim, by goal name. */
function parseGoalRows(figures: string): Map<string, string> {
  const rows = new Map<string, string>();
  const at = figures.indexOf(GOALS_TITLE);
  if (at === -1) return rows;
  for (const line of figures.slice(at).split('\n').slice(2)) {
    if (line.trim() === '') break;
    const name = /^\| (.+?) \|/.exec(line)?.[1];
    if (name && !name.startsWith('---') && name !== 'goal') rows.set(name, line);
  }
  return rows;
}

function runOf(results: BenchResults): string {
  return `${results.machine.date.slice(0, 10)}, ${results.options.runs} runs per measurement, commit ${results.machine.commit}`;
}

/**
 * Figures for this run, in section order (`sectionIds`), keeping from `previous` (the
 * README's current figures) every section and goal this run did not measure.
 */
export function renderReadmeFigures(results: BenchResults, sectionIds: readonly string[], previous = ''): string {
  const ran = new Set(results.sections.map((section) => section.id));
  const partial = sectionIds.some((id) => !ran.has(id));
  const earlierBlocks = partial ? parseBlocks(previous) : new Map<string, Block>();
  const earlierGoals = partial ? parseGoalRows(previous) : new Map<string, string>();
  const thisRun = runOf(results);

  const keptEarlier = (goal: Goal) => goal.verdict === 'not measured' && !goal.sections.every((id) => ran.has(id)) && earlierGoals.has(goal.name);
  const goals = renderTable(goalsTable(results.goals)).split('\n');
  const goalLines = [...goals.slice(0, 4), ...results.goals.map((goal, index) => (keptEarlier(goal) ? earlierGoals.get(goal.name)! : goals[4 + index]!))];

  const parts = [
    `Latest run: ${results.machine.date.slice(0, 10)}, on ${describeMachine(results.machine)}; ${results.options.runs} runs per measurement, commit ${results.machine.commit}`
      + (partial ? `; sections ${[...ran].map((id) => `\`${id}\``).join(', ')} only. The other sections' figures are from an earlier run, which each one names.` : '.'),
    '',
    goalLines.join('\n'),
  ];
  for (const id of sectionIds) {
    const section = results.sections.find((candidate) => candidate.id === id);
    if (section) {
      const [headline] = section.tables ?? [];
      const body = section.status === 'ok'
        ? (headline ? renderTable(headline) : `${section.title}: no table.`)
        : `${section.title}: ${section.status}${section.reason ? ` (${section.reason})` : ''}.`;
      parts.push('', startMarker(id, thisRun), body, '', endMarker(id));
      continue;
    }
    const earlier = earlierBlocks.get(id);
    if (earlier) parts.push('', startMarker(id, earlier.run), `${EARLIER} ${earlier.run}._`, '', earlier.body, '', endMarker(id));
  }
  parts.push('', 'Every table, with its caveats: `bench/results/latest.md` after a run.');
  return parts.join('\n');
}
