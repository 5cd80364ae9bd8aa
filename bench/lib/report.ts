import type { Goal } from './goals';
import { describeMachine, type MachineInfo } from './machine';
import type { SectionOutput, Table } from './section';

export interface SectionResult extends Partial<SectionOutput> {
  id: string;
  title: string;
  status: 'ok' | 'not available' | 'failed';
  /** Why the section is not available or failed. */
  reason?: string;
  durationMs: number;
}

export interface BenchResults {
  machine: MachineInfo;
  options: { runs: number; only: string[] };
  goals: Goal[];
  sections: SectionResult[];
}

export function renderTable(table: Table): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    `**${table.title}**`,
    '',
    `| ${table.columns.map(escape).join(' | ')} |`,
    `|${table.columns.map(() => '---').join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function goalsTable(goals: Goal[]): Table {
  return {
    title: 'Goals (reported, not asserted)',
    columns: ['goal', 'target', 'measured', 'verdict'],
    rows: goals.map((goal) => [goal.name, goal.target, goal.measured, goal.verdict]),
  };
}

function statusLine(section: SectionResult): string {
  if (section.status === 'ok') return `_${(section.durationMs / 1000).toFixed(0)} s_`;
  return `**${section.status}**: ${section.reason ?? ''}`;
}

/** The full results file: every table and note of every section. */
export function renderResults(results: BenchResults): string {
  const parts = [
    `# Nimbus bench, ${results.machine.date.slice(0, 10)}`,
    '',
    `Machine: ${describeMachine(results.machine)}. Commit ${results.machine.commit}. Runs per measurement: ${results.options.runs}.`,
    '',
    renderTable(goalsTable(results.goals)),
  ];
  for (const section of results.sections) {
    parts.push('', `## ${section.title} (\`${section.id}\`)`, '', statusLine(section));
    for (const table of section.tables ?? []) parts.push('', renderTable(table));
    if (section.notes?.length) parts.push('', ...section.notes.map((note) => `- ${note}`));
  }
  return `${parts.join('\n')}\n`;
}
